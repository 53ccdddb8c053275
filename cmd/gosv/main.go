// Command gosv runs Linux applications on the gosv unikernel.
//
//	gosv run [flags] [APP [ARGS...]]   boot the kernel on QEMU and run APP
//	gosv version                       print gosv's and Go's versions
//
// gosv run exits with the application's exit status. When gosv itself fails
// (bad flag, no QEMU, no kernel, the VM died without reporting a status) it
// prints one line starting with "gosv: " on stderr and exits with status 125,
// Docker's convention for "the runner failed".
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/spf13/cobra"
)

// version is set at link time: go build -ldflags "-X main.version=v0.1.0".
var version = "dev"

// exitRunnerFailed is the exit status when gosv itself fails.
const exitRunnerFailed = 125

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := execute(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// execute runs the gosv command line args and returns the process exit
// status: the app's status for run, 0 for other successful commands, and
// exitRunnerFailed after printing a one-line "gosv: " error on stderr.
func execute(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	status := 0
	root := newRootCmd(&status)
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	if err := root.ExecuteContext(ctx); err != nil {
		fmt.Fprintf(stderr, "gosv: %s\n", oneLine(err.Error()))
		return exitRunnerFailed
	}
	return status
}

// newRootCmd builds the gosv command tree; run stores the app's exit
// status in *status.
func newRootCmd(status *int) *cobra.Command {
	root := &cobra.Command{
		Use:   "gosv",
		Short: "Run Linux applications on the gosv unikernel",
		Long: "gosv runs one unmodified Linux x86-64 application as a microVM on the gosv\n" +
			"kernel, a unikernel written in Go, and exits with the application's status.",
		SilenceErrors:      true,
		SilenceUsage:       true,
		DisableSuggestions: true,
		CompletionOptions:  cobra.CompletionOptions{DisableDefaultCmd: true},
	}
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return fmt.Errorf("%w (see '%s --help')", err, c.CommandPath())
	})
	root.AddCommand(newRunCmd(status), newVersionCmd())
	return root
}

// oneLine folds a possibly multi-line message into one line.
func oneLine(s string) string {
	var parts []string
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			parts = append(parts, l)
		}
	}
	return strings.Join(parts, "; ")
}
