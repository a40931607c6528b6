-- Argo CD health check for outbound.dev/OutboundTask.
-- Reads the kstatus conditions the operator writes (Ready, Synced, Reconciling, Stalled).
-- Healthy: the remote task equals spec and is in its desired run state.
-- Progressing: the operator has not acted on this generation yet, or is pausing/updating/resuming,
--              or is retrying a transient platform error.
-- Degraded: a human is needed (spec rejected by the platform, bad token, unknown task id, a field
--           that does not converge), or Observe mode found drift.
-- Suspended: spec.suspend is true.
local hs = {}

local function condition(obj, type)
  if obj.status == nil or obj.status.conditions == nil then
    return nil
  end
  for _, c in ipairs(obj.status.conditions) do
    if c.type == type then
      return c
    end
  end
  return nil
end

if obj.spec ~= nil and obj.spec.suspend == true then
  hs.status = "Suspended"
  hs.message = "Reconciliation is suspended (spec.suspend)"
  return hs
end

if obj.status == nil or obj.status.observedGeneration == nil
    or (obj.metadata.generation ~= nil and obj.status.observedGeneration < obj.metadata.generation) then
  hs.status = "Progressing"
  hs.message = "Waiting for the operator to act on the latest spec"
  return hs
end

local stalled = condition(obj, "Stalled")
if stalled ~= nil and stalled.status == "True" then
  hs.status = "Degraded"
  hs.message = (stalled.reason or "Stalled") .. ": " .. (stalled.message or "")
  return hs
end

local ready = condition(obj, "Ready")
if ready ~= nil and ready.status == "True" then
  hs.status = "Healthy"
  hs.message = ready.message or "In sync"
  return hs
end

if ready ~= nil and ready.reason == "Drifted" then
  hs.status = "Degraded"
  hs.message = "Drifted: " .. (ready.message or "the remote task differs from spec (Observe mode)")
  return hs
end

local reconciling = condition(obj, "Reconciling")
hs.status = "Progressing"
if reconciling ~= nil and reconciling.status == "True" then
  hs.message = reconciling.message or "Reconciling"
elseif ready ~= nil then
  hs.message = (ready.reason or "") .. ": " .. (ready.message or "")
else
  hs.message = "Waiting for the operator"
end
return hs
