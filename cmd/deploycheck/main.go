// Command deploycheck keeps the deployment files of mail_exporter honest.
//
// It is a module of its own, so that kustomize, the Kubernetes API types and
// the prometheus-operator's types never enter the exporter's dependencies.
//
//	go run . generate   rewrite deploy/kubernetes/base/prometheusrule.yaml and
//	                    deploy/kubernetes/base/dashboards/ from deploy/prometheus/
//	                    and grafana/dashboards/
//	go test ./...       the checks: kustomize renders, every object decoded
//	                    strictly into its official Go type, the generated files
//	                    up to date, docker-compose config, the Dockerfile's build
//	                    run in its build context, the binary served with TLS and
//	                    basic auth, sharding, the systemd unit (see *_test.go)
package main

import (
	"fmt"
	"os"
)

func main() {
	if len(os.Args) != 2 || os.Args[1] != "generate" {
		fmt.Fprintln(os.Stderr, "usage: go run . generate")
		os.Exit(2)
	}
	root, err := findRoot(".")
	if err == nil {
		err = generate(root)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "deploycheck:", err)
		os.Exit(1)
	}
}
