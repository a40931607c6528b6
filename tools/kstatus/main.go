// kstatus prints how sigs.k8s.io/cli-utils' kstatus (the library behind Flux's health checks and
// `kubectl wait`-style tooling) reads each object of a JSON list: "<name> <status> <message>".
// The operator's tests use it to prove that a synced OutboundTask reads Current and a rejected
// one Failed.
package main

import (
	"fmt"
	"io"
	"os"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/json"
	"sigs.k8s.io/cli-utils/pkg/kstatus/status"
)

func main() {
	var list struct {
		Items []map[string]interface{} `json:"items"`
	}
	data, err := io.ReadAll(os.Stdin)
	if err == nil {
		// apimachinery's decoder yields int64 for integers, as unstructured objects require.
		err = json.Unmarshal(data, &list)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "reading a JSON list on stdin:", err)
		os.Exit(2)
	}
	for _, item := range list.Items {
		object := &unstructured.Unstructured{Object: item}
		result, err := status.Compute(object)
		if err != nil {
			fmt.Fprintln(os.Stderr, object.GetName(), err)
			os.Exit(1)
		}
		fmt.Printf("%s %s %s\n", object.GetName(), result.Status, result.Message)
	}
}
