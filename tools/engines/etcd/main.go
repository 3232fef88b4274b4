// Command etcd is the real etcd server for tests: it hands its arguments to etcd's own entry point.
// (etcd's binary lives in its repository's root module, which the proxy serves only up to v3.6.x; the
// server module, served at v3.7.x, carries the same entry point in etcdmain.)
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() {
	etcdmain.Main(os.Args)
}
