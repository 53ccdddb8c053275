// Command gosv runs Linux applications on the gosv unikernel.
//
//	gosv run [flags] [PATH [ARGS...]]   boot the kernel on QEMU and run PATH
//	gosv run [flags] IMAGE [ARGS...]    boot an image written by gosv build
//	gosv build -o OUT [flags] [PATH [ARGS...]]
//	                                    write a bootable image (a directory
//	                                    or a tar; see image.Save)
//	gosv version                        print gosv's and Go's versions
//
// gosv run exits with the application's exit status. Every failure is one
// line starting with "gosv: " on stderr. When the program PATH does not
// exist gosv exits with 127, when it cannot be run (not an x86-64 ELF
// executable, no execute permission, a shared library missing) with 126,
// as a shell does. When gosv
// itself fails (bad flag, no QEMU, no kernel, the VM died without reporting
// a status) it exits with 125, Docker's convention for "the runner failed".
package main

import (
	"context"
	"errors"
	"fmt"
	"github.com/gosv/gosv/internal/bootproto"
	"io"
	"os"
	"os/signal"
	"strings"
	"sync/atomic"
	"syscall"

	"github.com/gosv/gosv/internal/host/image"
	"github.com/gosv/gosv/internal/host/qemu"
	"github.com/spf13/cobra"
)

// version is set at link time: go build -ldflags "-X main.version=v0.1.0".
var version = "dev"

// exitRunnerFailed is the exit status when gosv itself fails.
const exitRunnerFailed = bootproto.ExitRunnerFailed

// exitBrokenPipe is the exit status when the reader of the app's output
// went away: what a shell reports for a program killed by SIGPIPE.
const exitBrokenPipe = bootproto.ExitSignalBase + int(syscall.SIGPIPE)

func main() {
	// Writes to a broken stdout or stderr fail with EPIPE instead of
	// killing gosv, so it stops the VM and removes its temporary files.
	signal.Notify(make(chan os.Signal, 1), syscall.SIGPIPE)
	// Ctrl-C and SIGTERM stop the VM at once; gosv then exits as a
	// program killed by that signal would (130, 143): the app in the VM
	// is gone with it.
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	ctx, cancel := context.WithCancel(context.Background())
	var stoppedBy atomic.Int32
	go func() {
		s := <-sigs
		stoppedBy.Store(int32(s.(syscall.Signal)))
		cancel()
	}()
	code := execute(ctx, os.Args[1:], os.Stdout, os.Stderr)
	if sig := stoppedBy.Load(); sig != 0 {
		code = bootproto.ExitSignalBase + int(sig)
	}
	os.Exit(code)
}

// execute runs the gosv command line args and returns the process exit
// status: the app's status for run, 0 for other successful commands, and
// after printing a one-line "gosv: " error on stderr, the shell's 126 or 127
// for a program that cannot run (image.ExecError), else exitRunnerFailed.
// When the app's output met a broken pipe (the reader went away, as in
// `gosv run ... | head -1`) it returns exitBrokenPipe without a message,
// like a program killed by SIGPIPE.
func execute(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	status := 0
	root := newRootCmd(&status)
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	if err := root.ExecuteContext(ctx); err != nil {
		if we := (*qemu.WriteError)(nil); errors.As(err, &we) && errors.Is(err, syscall.EPIPE) {
			return exitBrokenPipe
		}
		fmt.Fprintf(stderr, "gosv: %s\n", oneLine(err.Error()))
		if ee := (*image.ExecError)(nil); errors.As(err, &ee) {
			return ee.Status
		}
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
	root.AddCommand(newRunCmd(status), newBuildCmd(), newVersionCmd())
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
