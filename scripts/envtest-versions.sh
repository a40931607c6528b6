# Versions of the local test control plane; tools/envtest/*/go.mod pin the same ones.
K8S_VERSION=v1.35.4
ETCD_VERSION=v3.6.16
