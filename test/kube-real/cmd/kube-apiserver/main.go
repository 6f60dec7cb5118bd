// The real kube-apiserver, built from k8s.io/kubernetes at the version pinned in ../../go.mod.
// This is Kubernetes' own cmd/kube-apiserver/apiserver.go, unchanged: a module outside
// k8s.io/kubernetes cannot `go build` that main package and keep it in go.mod, so it is repeated.
package main

import (
	"os"
	_ "time/tzdata" // for timeZone support in CronJob

	"k8s.io/component-base/cli"
	_ "k8s.io/component-base/logs/json/register"          // for JSON log format registration
	_ "k8s.io/component-base/metrics/prometheus/clientgo" // load all the prometheus client-go plugins
	_ "k8s.io/component-base/metrics/prometheus/version"  // for version metric registration
	"k8s.io/kubernetes/cmd/kube-apiserver/app"
)

func main() {
	command := app.NewAPIServerCommand()
	code := cli.Run(command)
	os.Exit(code)
}
