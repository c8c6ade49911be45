// Command tsuna is the self-service reliability platform: see `tsuna help`.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/tsuna-sre/tsuna/internal/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Run(ctx, os.Args[1:], cli.Env{Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr})
	stop()
	os.Exit(code)
}
