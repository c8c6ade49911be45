// Package cli is the tsuna command line: every command runs as a function
// of its arguments, environment and streams, so tests run the real program.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"

	"github.com/spf13/cobra"

	"github.com/tsuna-sre/tsuna"
)

// Exit codes.
const (
	ExitOK    = 0
	ExitError = 1 // the command failed, or lint found errors
	ExitUsage = 2 // the command line is wrong
)

// Env is what a command sees of its process.
type Env struct {
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
	// Getenv reads an environment variable; nil means os.Getenv.
	Getenv func(string) string
}

func (e *Env) getenv(k string) string {
	if e.Getenv == nil {
		return os.Getenv(k)
	}
	return e.Getenv(k)
}

// usageError marks a wrong command line (exit 2).
type usageError struct{ err error }

func (u usageError) Error() string { return u.err.Error() }
func (u usageError) Unwrap() error { return u.err }

// exitError carries an exit code for a failure already reported.
type exitError struct{ code int }

func (e exitError) Error() string { return fmt.Sprintf("exit %d", e.code) }

// Run runs tsuna with args (without the program name) and returns its exit
// code. ctx is cancelled to stop a running server.
func Run(ctx context.Context, args []string, env Env) int {
	root := newRoot(&env)
	root.SetArgs(args)
	root.SetIn(env.Stdin)
	root.SetOut(env.Stdout)
	root.SetErr(env.Stderr)
	err := root.ExecuteContext(ctx)
	var ee exitError
	var ue usageError
	switch {
	case err == nil:
		return ExitOK
	case errors.As(err, &ee):
		return ee.code
	case errors.As(err, &ue), strings.HasPrefix(err.Error(), "unknown command"):
		fmt.Fprintf(env.Stderr, "tsuna: %v\nRun 'tsuna help' for usage.\n", err)
		return ExitUsage
	}
	fmt.Fprintf(env.Stderr, "tsuna: %v\n", err)
	return ExitError
}

func newRoot(env *Env) *cobra.Command {
	root := &cobra.Command{
		Use:   "tsuna",
		Short: "tsuna is a self-service reliability platform",
		Long: `tsuna is a self-service reliability platform in one binary: a service
catalog as code (lint, apply), SLOs and error budgets (rules, status, history,
a deploy gate), alert routing from Alertmanager to each team's chat channel
through a durable outbox, and a tamper-evident audit log.

Start with tsuna serve; every command has --help. Shell completion:
tsuna completion bash|zsh|fish|powershell --help.`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	root.AddCommand(
		newVersion(env),
		newLint(env),
		newServe(env),
		newApply(env),
		newToken(env),
		newSession(env),
		newAudit(env),
		newSLO(env),
		newAlerts(env),
		newAlertmanager(env),
		newIncident(env),
		newPostmortem(env),
		newReadiness(env),
		newOnboarding(env),
		newOutbox(env),
		newSlack(env),
		newDocs(env),
	)
	for _, c := range root.Commands() {
		wrapArgs(c)
	}
	return root
}

// wrapArgs turns argument-count errors into usage errors (exit 2), and
// makes a command group refuse a subcommand it does not have (cobra would
// print the group's help and exit 0).
func wrapArgs(c *cobra.Command) {
	if c.HasSubCommands() && c.Run == nil && c.RunE == nil {
		c.Args = cobra.ArbitraryArgs
		c.RunE = func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				return usageError{fmt.Errorf("unknown command %q for %q; its commands: %s", args[0], cmd.CommandPath(), subcommandNames(cmd))}
			}
			return cmd.Help()
		}
	}
	if c.Args != nil {
		check := c.Args
		c.Args = func(cmd *cobra.Command, args []string) error {
			if err := check(cmd, args); err != nil {
				return usageError{err}
			}
			return nil
		}
	}
	for _, sub := range c.Commands() {
		wrapArgs(sub)
	}
}

func newVersion(env *Env) *cobra.Command {
	var output string
	c := &cobra.Command{
		Use:   "version",
		Short: "Print the version and the commit it was built from",
		Long: `Print the version and the commit it was built from. go build records the
commit in a git clone (unless -buildvcs=false, or GOFLAGS has it); go run does
not, and prints "devel".`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if output == "json" {
				return writeJSON(env.Stdout, map[string]string{"version": tsuna.BuildVersion(), "revision": tsuna.BuildRevision(), "go": runtime.Version()})
			}
			fmt.Fprintf(env.Stdout, "tsuna %s (%s)\n", tsuna.BuildVersion(), runtime.Version())
			return nil
		},
	}
	addOutputFlag(c, &output)
	return c
}

func addOutputFlag(c *cobra.Command, output *string) {
	c.Flags().StringVarP(output, "output", "o", "text", "output format: text or json")
}

func checkOutput(output string, allowed ...string) error {
	for _, a := range allowed {
		if output == a {
			return nil
		}
	}
	return usageError{fmt.Errorf("--output %q: use one of %v", output, allowed)}
}

// subcommandNames lists c's visible subcommands, comma-separated.
func subcommandNames(c *cobra.Command) string {
	var names []string
	for _, s := range c.Commands() {
		if s.IsAvailableCommand() {
			names = append(names, s.Name())
		}
	}
	return strings.Join(names, ", ")
}
