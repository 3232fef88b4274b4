// Command pulumi-language-python is this project's Python language host for the Pulumi CLI.
//
// Why our own: the upstream host is a separate Go module
// (github.com/pulumi/pulumi/sdk/python/cmd/pulumi-language-python/v3) that the Go module proxy here refuses
// at every version. The part that actually runs a Python program, the `pulumi-language-python-exec` script,
// ships inside github.com/pulumi/pulumi/sdk/v3 (which the proxy serves); build.sh installs that real script
// next to this binary, and this host only does what a language host must around it: report the plugins the
// installed pulumi-* packages need, start the script with the engine's arguments, run Python plugins such as
// policy packs, and report its version. It is not a copy of the upstream host.
package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/pulumi/pulumi/sdk/v3/go/common/util/rpcutil"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"google.golang.org/grpc"
)

// version is set with -ldflags to the Pulumi release whose exec script build.sh installs.
var version = "3.274.1"

func main() {
	// The engine passes its own address as the last argument; the flags exist for callers that set them.
	flags := flag.NewFlagSet("pulumi-language-python", flag.ContinueOnError)
	flags.String("tracing", "", "ignored: tracing endpoint")
	virtualenv := flags.String("virtualenv", "", "virtual environment to run programs with")
	root := flags.String("root", "", "project root (base of a relative -virtualenv)")
	executor := flags.String("use-executor", "", "the exec script to use instead of the one next to this binary")
	if err := flags.Parse(os.Args[1:]); err != nil {
		os.Exit(2)
	}
	engineAddr := ""
	if args := flags.Args(); len(args) > 0 {
		engineAddr = args[len(args)-1]
	}
	execScript := *executor
	if execScript == "" {
		self, err := os.Executable()
		if err != nil {
			fail(err)
		}
		execScript = filepath.Join(filepath.Dir(self), "pulumi-language-python-exec")
	}
	if _, err := os.Stat(execScript); err != nil {
		fail(fmt.Errorf("missing the Python exec script %s (run `make engines`): %w", execScript, err))
	}
	host := &languageHost{exec: execScript, engineAddr: engineAddr, virtualenv: *virtualenv, root: *root}
	handle, err := rpcutil.ServeWithOptions(rpcutil.ServeOptions{
		Init: func(srv *grpc.Server) error {
			pulumirpc.RegisterLanguageRuntimeServer(srv, host)
			return nil
		},
	})
	if err != nil {
		fail(err)
	}
	// The engine reads the port from our first line of stdout.
	fmt.Printf("%d\n", handle.Port)
	if err := <-handle.Done; err != nil {
		fail(err)
	}
}

func fail(err error) {
	fmt.Fprintf(os.Stderr, "pulumi-language-python: %v\n", err)
	os.Exit(1)
}

var errNoPython = errors.New("no Python interpreter: set PULUMI_PYTHON_CMD, the Pulumi.yaml runtime option " +
	"`virtualenv`, or put python3 on PATH")
