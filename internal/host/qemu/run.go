package qemu

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"
)

// Binary is the QEMU program that Run looks up in PATH.
const Binary = "qemu-system-x86_64"

// ErrNoQEMU is returned by Run when qemu-system-x86_64 is not in PATH.
var ErrNoQEMU = errors.New(Binary + " not found: install it with `apt-get install qemu-system-x86`")

// stopGrace is how long Run lets QEMU exit after SIGTERM (on ctx
// cancellation) before it is killed.
const stopGrace = 5 * time.Second

// Run boots cfg on qemu-system-x86_64 from PATH and returns the app's exit
// status (0..255), decoded by DecodeExit.
//
// Run makes a temporary directory for the control file (overriding
// cfg.ControlPath) and removes it before returning. QEMU's stdin is
// /dev/null; its stdout (the guest console) goes to stdout and its stderr
// (QEMU's own messages, such as a rejected option or a kernel it cannot load)
// to stderr. When ctx is cancelled QEMU gets SIGTERM, then SIGKILL after 5 s.
//
// Errors: ErrNoQEMU when QEMU is missing; cfg's validation error; a failure
// to start QEMU; and, when the VM reported no exit status, DecodeExit's
// error or one naming the signal that killed QEMU or ctx's error.
func Run(ctx context.Context, cfg Config, stdout, stderr io.Writer) (status int, err error) {
	path, err := exec.LookPath(Binary)
	if err != nil {
		return 0, ErrNoQEMU
	}
	dir, err := os.MkdirTemp("", "gosv-")
	if err != nil {
		return 0, fmt.Errorf("creating the control directory: %w", err)
	}
	defer os.RemoveAll(dir)
	cfg.ControlPath = filepath.Join(dir, "control")
	args, err := cfg.Args()
	if err != nil {
		return 0, err
	}

	cmd := exec.CommandContext(ctx, path, args...)
	cmd.Stdin = nil // /dev/null
	cmd.Stdout = stdout
	cmd.Stderr = stderr
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = stopGrace

	runErr := cmd.Run()
	if cmd.ProcessState == nil {
		return 0, fmt.Errorf("running %s: %w", Binary, runErr)
	}
	qemuStatus := cmd.ProcessState.ExitCode()
	var signaled os.Signal
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		signaled = ws.Signal()
	}

	control, rerr := os.ReadFile(cfg.ControlPath)
	if rerr != nil && !errors.Is(rerr, os.ErrNotExist) {
		return 0, fmt.Errorf("reading the control file: %w", rerr)
	}
	status, derr := DecodeExit(qemuStatus, control)
	if derr == nil {
		return status, nil
	}
	switch {
	case ctx.Err() != nil:
		return 0, fmt.Errorf("%s stopped: %w", Binary, ctx.Err())
	case signaled != nil:
		return 0, fmt.Errorf("%s killed by signal %v before the VM reported an exit status", Binary, signaled)
	case runErr != nil && !errors.As(runErr, new(*exec.ExitError)):
		return 0, fmt.Errorf("running %s: %w", Binary, runErr)
	}
	return 0, derr
}
