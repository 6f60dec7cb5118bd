// The real etcd server (go.etcd.io/etcd/server/v3 at the version pinned in ../../go.mod, the one
// kube-apiserver itself is built and tested against). etcdmain.Main is what etcd's own binary
// runs, so every etcd flag works as documented.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() {
	etcdmain.Main(os.Args)
}
