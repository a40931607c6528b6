//! No cluster needed: the examples in manifests/examples and the install manifests in manifests/
//! deserialise into the Rust types without losing a field (a typo'd field fails), the generated
//! CRD schemas are structural, and crds/ is not stale.

mod support;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{Namespace, Secret, Service, ServiceAccount};
use k8s_openapi::api::flowcontrol::v1::FlowSchema;
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use k8s_openapi::api::rbac::v1::{ClusterRole, ClusterRoleBinding, Role, RoleBinding};
use outbound_api::{OutboundAccount, OutboundTask, ScriptSelection};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

fn yaml_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.expect("entry").path())
        .filter(|p| p.is_file() && p.extension().is_some_and(|x| x == "yaml" || x == "yml"))
        .collect();
    files.sort();
    files
}

/// Deserialise `doc` into `T` and check that serialising it back keeps every field of `doc` with
/// the same value. serde ignores unknown fields, so a typo'd field name is caught here as a field
/// missing from the round trip; fields that `T` adds (defaults) are allowed.
fn strict<T: DeserializeOwned + Serialize>(doc: &Value, label: &str) -> Result<T, String> {
    let typed: T = serde_json::from_value(doc.clone()).map_err(|e| format!("{label}: does not deserialise: {e}"))?;
    let back = serde_json::to_value(&typed).expect("serialise");
    match lost(doc, &back, "") {
        Some(path) => Err(format!(
            "{label}: field {path} is not part of the type (typo?) or lost its value"
        )),
        None => Ok(typed),
    }
}

/// The first path of `want` that is absent from or different in `got`.
fn lost(want: &Value, got: &Value, path: &str) -> Option<String> {
    match (want, got) {
        (Value::Object(w), Value::Object(g)) => w.iter().find_map(|(k, v)| {
            let p = if path.is_empty() {
                k.clone()
            } else {
                format!("{path}.{k}")
            };
            match g.get(k) {
                None if v.is_null() => None,
                None => Some(p),
                Some(gv) => lost(v, gv, &p),
            }
        }),
        (Value::Array(w), Value::Array(g)) => {
            if w.len() != g.len() {
                return Some(format!("{path} (length {} became {})", w.len(), g.len()));
            }
            w.iter()
                .zip(g)
                .enumerate()
                .find_map(|(i, (a, b))| lost(a, b, &format!("{path}[{i}]")))
        }
        (Value::Number(a), Value::Number(b)) if a.as_f64() == b.as_f64() => None,
        (a, b) if a == b => None,
        (a, b) => Some(format!("{path} ({a} became {b})")),
    }
}

#[test]
fn the_strict_check_catches_a_typo() {
    let mut doc = support::task_json("t", "main", "f232d184-dd54-42a0-8ace-0bf8d660f4cc");
    strict::<OutboundTask>(&doc, "control").expect("the minimal task round-trips");
    doc["spec"]["task"]["maxConcurency"] = 2.into();
    let err = strict::<OutboundTask>(&doc, "typo").expect_err("a typo'd field must fail");
    assert!(err.contains("spec.task.maxConcurency"), "{err}");
}

#[test]
fn examples_deserialise_into_the_rust_types() {
    let dir = support::repo_root().join("manifests/examples");
    let mut failures = Vec::new();
    let (mut tasks, mut accounts, mut secrets) = (Vec::new(), Vec::new(), Vec::new());
    // The simulator's Secret and account apart, so that applying the examples never replaces a
    // real token or account (review I12).
    let top = yaml_files(&dir);
    for file in &top {
        let kind = support::yaml_documents(file)[0]["kind"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        if kind == "Secret" || kind == "OutboundAccount" {
            failures.push(format!(
                "{}: a {kind} belongs in manifests/examples/simulator/",
                file.display()
            ));
        }
    }
    for file in top.into_iter().chain(yaml_files(&dir.join("simulator"))) {
        for doc in support::yaml_documents(&file) {
            let label = format!("{} ({})", file.file_name().unwrap().to_string_lossy(), doc["kind"]);
            let ns = doc["metadata"]["namespace"].as_str();
            if ns.is_some_and(|ns| ns != "default") {
                failures.push(format!(
                    "{label}: examples stay in the namespace they are applied to (or default)"
                ));
            }
            match doc["kind"].as_str() {
                Some("OutboundTask") => match strict::<OutboundTask>(&doc, &label) {
                    Ok(t) => tasks.push(t),
                    Err(e) => failures.push(e),
                },
                Some("OutboundAccount") => match strict::<OutboundAccount>(&doc, &label) {
                    Ok(a) => accounts.push(a),
                    Err(e) => failures.push(e),
                },
                Some("Secret") => match strict::<Secret>(&doc, &label) {
                    Ok(s) => secrets.push(s),
                    Err(e) => failures.push(e),
                },
                other => failures.push(format!("{label}: unexpected kind {other:?} in manifests/examples")),
            }
        }
    }
    assert!(failures.is_empty(), "examples failed:\n{}", failures.join("\n"));

    // They fit together: one account, whose Secret exists, named by every task.
    assert_eq!(accounts.len(), 1, "one OutboundAccount");
    let account = &accounts[0];
    let secret = secrets
        .iter()
        .find(|s| s.metadata.name.as_deref() == Some(account.spec.token_secret_ref.name.as_str()))
        .expect("the Secret named by the account's tokenSecretRef");
    let key = &account.spec.token_secret_ref.key;
    assert!(
        secret.string_data.as_ref().is_some_and(|d| d.contains_key(key))
            || secret.data.as_ref().is_some_and(|d| d.contains_key(key)),
        "the Secret has the key {key}"
    );
    let account_name = account.metadata.name.as_deref().unwrap();
    for t in &tasks {
        assert_eq!(
            t.spec.account_ref.name, account_name,
            "{:?} names the example account",
            t.metadata.name
        );
    }

    // Every script selection mode, the old 2.0 task type and a created task are shown, with
    // distinct task ids.
    let modes: BTreeSet<String> = tasks
        .iter()
        .filter_map(|t| t.spec.task.script_selection)
        .map(|mode| format!("{mode:?}"))
        .collect();
    for mode in [
        ScriptSelection::Unified,
        ScriptSelection::ByTime,
        ScriptSelection::ByVariable,
        ScriptSelection::MultiScript,
    ] {
        assert!(
            modes.contains(&format!("{mode:?}")),
            "no example with scriptSelection {mode:?}"
        );
    }
    assert!(
        tasks
            .iter()
            .any(|t| t.spec.task.task_type == Some(6) && t.spec.task.legacy.is_some()),
        "no old 2.0 (taskType 6) example"
    );
    let adopted: Vec<&str> = tasks.iter().filter_map(|t| t.spec.task_id.as_deref()).collect();
    let ids: BTreeSet<&str> = adopted.iter().copied().collect();
    assert_eq!(ids.len(), adopted.len(), "task ids must be distinct");
    assert!(
        tasks.iter().any(|t| t.spec.task_id.is_none()),
        "no example without taskId (a task the operator creates)"
    );
    let names: BTreeSet<&str> = tasks.iter().filter_map(|t| t.metadata.name.as_deref()).collect();
    assert_eq!(names.len(), tasks.len(), "task names must be distinct");
}

/// The install manifests are well-formed objects of their kinds (a typo'd field such as
/// `readOnlyRootFileSystem` fails), and kustomization.yaml lists every one of them.
#[test]
fn install_manifests_are_well_formed() {
    let dir = support::repo_root().join("manifests");
    let mut failures = Vec::new();
    let mut kinds = BTreeSet::new();
    for file in yaml_files(&dir) {
        let fname = file.file_name().unwrap().to_string_lossy().to_string();
        if fname == "kustomization.yaml" {
            continue;
        }
        for doc in support::yaml_documents(&file) {
            let kind = doc["kind"].as_str().unwrap_or_default().to_string();
            let label = format!("{fname} ({kind})");
            let r = match kind.as_str() {
                "Namespace" => strict::<Namespace>(&doc, &label).map(drop),
                "ServiceAccount" => strict::<ServiceAccount>(&doc, &label).map(drop),
                "ClusterRole" => strict::<ClusterRole>(&doc, &label).map(drop),
                "ClusterRoleBinding" => strict::<ClusterRoleBinding>(&doc, &label).map(drop),
                "Role" => strict::<Role>(&doc, &label).map(drop),
                "RoleBinding" => strict::<RoleBinding>(&doc, &label).map(drop),
                "Deployment" => strict::<Deployment>(&doc, &label).map(drop),
                "Service" => strict::<Service>(&doc, &label).map(drop),
                "PodDisruptionBudget" => strict::<PodDisruptionBudget>(&doc, &label).map(drop),
                "FlowSchema" => strict::<FlowSchema>(&doc, &label).map(drop),
                other => Err(format!("{label}: kind {other:?} has no check here: add one")),
            };
            if let Err(e) = r {
                failures.push(e);
            }
            kinds.insert(kind);
        }
    }
    assert!(failures.is_empty(), "manifests failed:\n{}", failures.join("\n"));
    for k in [
        "Namespace",
        "ServiceAccount",
        "ClusterRole",
        "ClusterRoleBinding",
        "Role",
        "RoleBinding",
        "Deployment",
        "Service",
        "FlowSchema",
    ] {
        assert!(kinds.contains(k), "manifests/ has no {k}");
    }

    let kustomization = &support::yaml_documents(&dir.join("kustomization.yaml"))[0];
    let listed: BTreeSet<&str> = kustomization["resources"]
        .as_array()
        .expect("resources")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    // The CRDs are applied apart (manifests/crds), so that deleting or pruning the app never
    // deletes them and every OutboundTask with them (review I6).
    assert!(
        !listed.iter().any(|r| r.contains("crds")),
        "manifests/kustomization.yaml must not include the CRDs: {listed:?}"
    );
    let crds_app = &support::yaml_documents(&dir.join("crds/kustomization.yaml"))[0];
    assert_eq!(crds_app["resources"], serde_json::json!(["../../crds"]));
    for file in yaml_files(&dir) {
        let fname = file.file_name().unwrap().to_string_lossy().to_string();
        if fname != "kustomization.yaml" {
            assert!(
                listed.contains(fname.as_str()),
                "kustomization.yaml does not list {fname}"
            );
        }
    }
    let crd_kustomization = &support::yaml_documents(&support::repo_root().join("crds/kustomization.yaml"))[0];
    assert_eq!(
        crd_kustomization["resources"],
        serde_json::json!(["outbound.dev_crds.yaml"])
    );

    // The Deployment keeps its hardening.
    let deploy: Deployment = serde_json::from_value(
        support::yaml_documents(&dir.join("deployment.yaml"))
            .into_iter()
            .next()
            .expect("a document"),
    )
    .expect("Deployment");
    let pod = deploy.spec.expect("spec").template.spec.expect("pod spec");
    let c = &pod.containers[0];
    let sc = c.security_context.as_ref().expect("container securityContext");
    assert_eq!(sc.allow_privilege_escalation, Some(false));
    assert_eq!(sc.read_only_root_filesystem, Some(true));
    assert_eq!(
        sc.capabilities.as_ref().and_then(|c| c.drop.clone()),
        Some(vec!["ALL".to_string()])
    );
    let psc = pod.security_context.as_ref().expect("pod securityContext");
    assert_eq!(psc.run_as_non_root, Some(true));
    assert_eq!(psc.run_as_user, Some(65532));
    assert_eq!(
        psc.seccomp_profile.as_ref().map(|s| s.type_.as_str()),
        Some("RuntimeDefault")
    );
    assert_eq!(
        c.args.as_deref(),
        Some(
            &[
                "run",
                "--leader-elect",
                "--metrics-addr",
                "0.0.0.0:8080",
                "--log-format",
                "json"
            ]
            .map(String::from)[..]
        )
    );
    // Room for a bounded operation on SIGTERM (review I18), a startup probe before liveness.
    assert!(pod.termination_grace_period_seconds.unwrap_or(30) >= 120);
    assert!(c.startup_probe.is_some(), "a startupProbe");
    let env: BTreeSet<&str> = c.env.iter().flatten().map(|e| e.name.as_str()).collect();
    assert!(
        env.contains("POD_NAME") && env.contains("POD_NAMESPACE"),
        "downward API env for leader election"
    );
}

/// Walk a schema node; collect what makes it non-structural (or untyped) for the apiserver.
fn check_structural(node: &Value, path: &str, problems: &mut Vec<String>) {
    let Some(obj) = node.as_object() else {
        problems.push(format!("{path}: not an object"));
        return;
    };
    for forbidden in ["$ref", "allOf", "not", "definitions", "$schema", "uniqueItems"] {
        if obj.contains_key(forbidden) {
            problems.push(format!("{path}: has {forbidden}"));
        }
    }
    for junction in ["anyOf", "oneOf"] {
        if let Some(branches) = obj.get(junction) {
            // Allowed only as pure value validation: branches must not declare types (or
            // descriptions, defaults, nullable...), and the node itself must be typed.
            for (i, b) in branches.as_array().into_iter().flatten().enumerate() {
                for k in [
                    "type",
                    "description",
                    "default",
                    "nullable",
                    "additionalProperties",
                    "title",
                ] {
                    if b.get(k).is_some() {
                        problems.push(format!("{path}.{junction}[{i}]: declares {k}"));
                    }
                }
            }
        }
    }
    let int_or_string = obj.get("x-kubernetes-int-or-string") == Some(&Value::Bool(true));
    let preserve = obj.get("x-kubernetes-preserve-unknown-fields") == Some(&Value::Bool(true));
    let ty = obj.get("type").and_then(Value::as_str);
    if ty.is_none() && !int_or_string && !preserve {
        problems.push(format!("{path}: no type"));
    }
    match ty {
        Some("object") => {
            let props = obj.get("properties").and_then(Value::as_object);
            let additional = obj.get("additionalProperties");
            if props.is_none_or(|p| p.is_empty())
                && additional.is_none()
                && !preserve
                && path != "openAPIV3Schema.properties.metadata"
            {
                problems.push(format!(
                    "{path}: an object with neither properties nor additionalProperties (untyped)"
                ));
            }
            if props.is_some() && additional.is_some() {
                problems.push(format!("{path}: both properties and additionalProperties"));
            }
            for (k, v) in props.into_iter().flatten() {
                check_structural(v, &format!("{path}.properties.{k}"), problems);
            }
            if let Some(a) = additional.filter(|a| a.is_object()) {
                check_structural(a, &format!("{path}.additionalProperties"), problems);
            }
            if let Some(required) = obj.get("required").and_then(Value::as_array) {
                for r in required.iter().filter_map(Value::as_str) {
                    if props.is_some_and(|p| !p.contains_key(r)) {
                        problems.push(format!("{path}: required {r} is not a property"));
                    }
                }
            }
        }
        Some("array") => match obj.get("items") {
            Some(items) => {
                check_structural(items, &format!("{path}.items"), problems);
                if obj.get("x-kubernetes-list-type").and_then(Value::as_str) == Some("map") {
                    let keys = obj.get("x-kubernetes-list-map-keys").and_then(Value::as_array);
                    let required: BTreeSet<&str> = items
                        .get("required")
                        .and_then(Value::as_array)
                        .into_iter()
                        .flatten()
                        .filter_map(Value::as_str)
                        .collect();
                    match keys {
                        None => problems.push(format!("{path}: list-type map without list-map-keys")),
                        Some(keys) => {
                            for k in keys.iter().filter_map(Value::as_str) {
                                let has_default = items["properties"][k].get("default").is_some();
                                if !required.contains(k) && !has_default {
                                    problems.push(format!("{path}: map key {k} is neither required nor defaulted"));
                                }
                            }
                        }
                    }
                }
            }
            None => problems.push(format!("{path}: an array without items")),
        },
        _ => {}
    }
}

#[test]
fn generated_crd_schemas_are_structural() {
    let yaml = outbound_api::crds_yaml();
    let docs: Vec<Value> = serde_yaml::Deserializer::from_str(&yaml)
        .map(|d| <Value as serde::Deserialize>::deserialize(d).expect("YAML"))
        .filter(|v| !v.is_null())
        .collect();
    assert_eq!(docs.len(), 2, "two CRDs");
    let mut problems = Vec::new();
    for crd in &docs {
        let name = crd["metadata"]["name"].as_str().unwrap_or("?");
        for version in crd["spec"]["versions"].as_array().expect("versions") {
            let schema = &version["schema"]["openAPIV3Schema"];
            let mut p = Vec::new();
            check_structural(schema, "openAPIV3Schema", &mut p);
            problems.extend(p.into_iter().map(|p| format!("{name} {}: {p}", version["name"])));
            assert_eq!(
                version["subresources"]["status"],
                serde_json::json!({}),
                "{name}: status subresource"
            );
        }
    }
    assert!(
        problems.is_empty(),
        "non-structural CRD schema:\n{}",
        problems.join("\n")
    );
}

/// Every CEL rule over a string compares bounded strings: the apiserver estimates a rule's cost
/// from maxLength/maxItems and rejects the whole CRD when a rule may exceed its budget (an
/// unbounded string compared inside a list is enough). This catches it without a cluster.
#[test]
fn cel_rules_in_lists_compare_bounded_strings() {
    let yaml = outbound_api::crds_yaml();
    let docs: Vec<Value> = serde_yaml::Deserializer::from_str(&yaml)
        .map(|d| <Value as serde::Deserialize>::deserialize(d).expect("YAML"))
        .filter(|v| !v.is_null())
        .collect();
    let mut problems = Vec::new();
    fn walk(node: &Value, path: &str, in_list: bool, problems: &mut Vec<String>) {
        if in_list && node.get("x-kubernetes-validations").is_some() {
            for (k, v) in node["properties"].as_object().into_iter().flatten() {
                if v["type"] == "string" && v.get("maxLength").is_none() && v.get("enum").is_none() {
                    let rules = node["x-kubernetes-validations"].to_string();
                    if rules.contains(&format!("self.{k}")) {
                        problems.push(format!(
                            "{path}.{k}: a string without maxLength used by a CEL rule inside a list"
                        ));
                    }
                }
            }
        }
        for (k, v) in node["properties"].as_object().into_iter().flatten() {
            walk(v, &format!("{path}.{k}"), in_list, problems);
        }
        if let Some(items) = node.get("items") {
            walk(items, &format!("{path}[]"), true, problems);
        }
    }
    for crd in &docs {
        for version in crd["spec"]["versions"].as_array().expect("versions") {
            walk(
                &version["schema"]["openAPIV3Schema"],
                crd["metadata"]["name"].as_str().unwrap_or("?"),
                false,
                &mut problems,
            );
        }
    }
    assert!(
        problems.is_empty(),
        "CEL cost risks (the apiserver may reject the CRD):\n{}",
        problems.join("\n")
    );
}

#[test]
fn crds_folder_and_the_charts_copy_are_up_to_date() {
    let generated = outbound_api::crds_yaml();
    for file in [
        "crds/outbound.dev_crds.yaml",
        "charts/outbound-operator/files/crds.yaml",
    ] {
        let path = support::repo_root().join(file);
        let on_disk = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert!(
            on_disk == generated,
            "{file} is stale: it differs from what the API types generate. Run `make crds` and commit the result."
        );
    }
}

#[test]
fn api_reference_is_up_to_date() {
    let path = support::repo_root().join("docs/reference/api.md");
    let on_disk = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert!(
        on_disk == outbound_api::reference::markdown(),
        "docs/reference/api.md is stale: run `make crds` and commit the result."
    );
}

#[test]
fn api_reference_documents_every_mapped_field_with_its_remote_name() {
    let reference = outbound_api::reference::markdown();
    for remote in [
        "maximumcall",
        "destination_extension",
        "task_extras.line",
        "task_extras.holiday",
        "is_group_switch",
        "redial_conditions.da_status",
        "new_call_rules",
        "group_switch_rule",
        "bridge_group_id",
        "sub_user_id",
    ] {
        assert!(
            reference.contains(remote),
            "the reference never names the API field {remote}"
        );
    }
}

/// `kubectl explain` teaches the API only if every field has a description.
#[test]
fn every_field_of_both_crds_has_a_description() {
    fn walk(node: &serde_json::Value, path: &str, missing: &mut Vec<String>) {
        for (name, child) in node["properties"].as_object().into_iter().flatten() {
            let child_path = format!("{path}.{name}");
            // metav1.Condition's own fields come from k8s-openapi, described upstream.
            if child["description"].as_str().is_none_or(str::is_empty) && !path.contains("conditions") {
                missing.push(child_path.clone());
            }
            walk(child, &child_path, missing);
            walk(&child["items"], &format!("{child_path}[]"), missing);
        }
    }
    let mut missing = Vec::new();
    for document in serde_yaml::Deserializer::from_str(&outbound_api::crds_yaml()) {
        let crd: serde_json::Value = serde::Deserialize::deserialize(document).unwrap();
        let kind = crd["spec"]["names"]["kind"].as_str().unwrap().to_string();
        let schema = &crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"];
        for top in ["spec", "status"] {
            walk(&schema["properties"][top], &format!("{kind}.{top}"), &mut missing);
        }
    }
    assert!(missing.is_empty(), "fields without a description: {missing:?}");
}

/// The production image (the Dockerfile's last stage, the default target) holds the operator
/// alone, not the simulator with its unauthenticated admin endpoints, and its default command logs
/// as the installs do (review I20). Checked on the text: no container engine is needed.
#[test]
fn the_production_image_ships_only_the_operator_and_logs_json_like_the_installs() {
    let dockerfile = std::fs::read_to_string(support::repo_root().join("Dockerfile")).unwrap();
    let last_stage = dockerfile.rsplit("\nFROM ").next().unwrap();
    assert!(last_stage.contains("/out/outbound-operator"), "{last_stage}");
    assert!(
        !last_stage.contains("outbound-sim"),
        "the simulator ships in the production image: {last_stage}"
    );
    let cmd = last_stage
        .lines()
        .find(|l| l.starts_with("CMD "))
        .expect("a CMD in the last stage");
    assert!(cmd.contains(r#""--log-format", "json""#), "{cmd}");
    let deployment = std::fs::read_to_string(support::repo_root().join("manifests/deployment.yaml")).unwrap();
    assert!(
        deployment.contains(r#""--log-format", "json""#),
        "manifests log otherwise"
    );
    let values = std::fs::read_to_string(support::repo_root().join("charts/outbound-operator/values.yaml")).unwrap();
    assert!(
        values.lines().any(|l| l == "logFormat: json"),
        "the chart logs otherwise"
    );
}
