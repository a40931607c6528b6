# syntax=docker/dockerfile:1
# Multi-stage build of outbound-operator and outbound-sim.
#   docker build -t ghcr.io/outbound-operator/outbound-operator:0.1.0 .
# Final stage: distroless (glibc, CA certificates, no shell), non-root user 65532.

FROM rust:1.95-bookworm AS build
WORKDIR /src
# Dependencies first, so that source edits reuse the cached dependency layer.
COPY Cargo.toml Cargo.lock ./
# Bench targets are declared in Cargo.toml, so their sources must exist for cargo to load it.
COPY benches ./benches
RUN mkdir -p src/bin \
 && echo 'fn main() {}' > src/main.rs \
 && echo 'fn main() {}' > src/bin/outbound-sim.rs \
 && touch src/lib.rs \
 && cargo build --release --locked --bins \
 && rm -rf src
COPY src ./src
# Touch so cargo rebuilds the crate itself rather than trusting the placeholder's timestamps.
RUN touch src/main.rs src/lib.rs src/bin/outbound-sim.rs \
 && cargo build --release --locked --bins \
 && strip target/release/outbound-operator target/release/outbound-sim

FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=build /src/target/release/outbound-operator /usr/local/bin/outbound-operator
COPY --from=build /src/target/release/outbound-sim /usr/local/bin/outbound-sim
USER 65532:65532
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/outbound-operator"]
CMD ["run", "--leader-elect", "--log-format", "json"]
