# syntax=docker/dockerfile:1
# The image to deploy comes from `make image` (scripts/build-image.sh): built without a container
# engine, with its SBOM, and run by the tests (`make test`: test-image); docs/reference/image.md
# says what it holds. This Dockerfile is for those who build with an engine instead; nothing here
# builds or tests it (its base images cannot be pulled here). Keep its user (65532), entrypoint,
# command and port equal to scripts/build-image.sh's.
#   docker build -t ghcr.io/outbound-operator/outbound-operator:0.2.0 .
# The last stage is the production image: the operator alone, on distroless (glibc, CA
# certificates, no shell), non-root user 65532. The platform simulator (outbound-sim, whose admin
# endpoints take no authentication) is never in it; build it apart when needed:
#   docker build --target simulator -t outbound-sim .
# The base images are named by tag. To pin them, replace each tag with its digest
# (`FROM rust:1.95-bookworm@sha256:...`), as resolved by your registry at release time.

FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY . .
# Cache mounts keep the registry and the compiled dependencies between builds, so a source edit
# rebuilds only the workspace's own crates. The target dir is a mount, so copy the binaries out.
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked --bins \
 && mkdir -p /out \
 && cp target/release/outbound-operator target/release/outbound-sim /out/ \
 && strip /out/outbound-operator /out/outbound-sim

# The simulator, for demos and tests only (`--target simulator`).
FROM gcr.io/distroless/cc-debian12:nonroot AS simulator
COPY --from=build /out/outbound-sim /usr/local/bin/outbound-sim
USER 65532:65532
ENTRYPOINT ["/usr/local/bin/outbound-sim"]

# The production image (the default target).
FROM gcr.io/distroless/cc-debian12:nonroot AS operator
COPY --from=build /out/outbound-operator /usr/local/bin/outbound-operator
USER 65532:65532
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/outbound-operator"]
# JSON logs, as manifests/deployment.yaml and the chart's default logFormat.
CMD ["run", "--leader-elect", "--log-format", "json"]
