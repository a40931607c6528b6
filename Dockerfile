# syntax=docker/dockerfile:1
# Multi-stage build of outbound-operator and outbound-sim (a Cargo workspace: the operator at the
# root, its libraries and the simulator in crates/).
#   docker build -t ghcr.io/outbound-operator/outbound-operator:0.1.0 .
# Final stage: distroless (glibc, CA certificates, no shell), non-root user 65532.

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

FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=build /out/outbound-operator /usr/local/bin/outbound-operator
COPY --from=build /out/outbound-sim /usr/local/bin/outbound-sim
USER 65532:65532
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/outbound-operator"]
CMD ["run", "--leader-elect", "--log-format", "json"]
