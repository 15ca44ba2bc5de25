// Package cli is the native command line: one binary whose subcommands
// train, evaluate and inspect the networks of model/, and serve the app.
package cli

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"sort"
	"strings"
)

// command is one subcommand.
type command struct {
	name    string
	summary string
	run     func(env *Env, args []string) error
}

var commands = map[string]*command{}

func register(c *command) { commands[c.name] = c }

// Env is where a command writes; tests pass buffers.
type Env struct {
	Stdout, Stderr io.Writer
}

// Main runs the subcommand named by args[0] and returns the exit code.
func Main(args []string, stdout, stderr io.Writer) int {
	env := &Env{Stdout: stdout, Stderr: stderr}
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		if len(args) > 1 {
			if c, ok := commands[args[1]]; ok {
				c.run(env, []string{"-h"})
				return 0
			}
		}
		usage(stdout)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	c, ok := commands[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "goresnet: unknown command %q\n\n", args[0])
		usage(stderr)
		return 2
	}
	if err := c.run(env, args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		fmt.Fprintf(stderr, "goresnet %s: %v\n", c.name, err)
		return 1
	}
	return 0
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "goresnet trains and runs ResNet-18/34/50/101/152 (the same code runs in the browser app).")
	fmt.Fprintln(w, "\nUsage: goresnet COMMAND [flags]    (goresnet help COMMAND, or COMMAND -h, for its flags)")
	fmt.Fprintln(w, "\nCommands:")
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-10s %s\n", n, commands[n].summary)
	}
}

// newFlags makes a flag set whose -h prints the command's usage.
func newFlags(env *Env, name, usageLine, description string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(env.Stderr)
	fs.Usage = func() {
		fmt.Fprintf(env.Stderr, "Usage: goresnet %s %s\n\n%s\n\nFlags:\n", name, usageLine, strings.TrimSpace(description))
		fs.PrintDefaults()
	}
	return fs
}
