// Command goresnet is the native side of the project: it trains, evaluates
// and inspects ResNets with the same model code the browser app runs.
// Run "goresnet help" for the commands.
package main

import (
	"os"

	"github.com/goresnet/goresnet/cli"
)

func main() {
	os.Exit(cli.Main(os.Args[1:], os.Stdout, os.Stderr))
}
