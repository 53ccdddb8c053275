package qemu

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"sync/atomic"
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

// StderrFD is the file descriptor of the QEMU process that carries COM2:
// Run passes the write end of a pipe there (exec.Cmd.ExtraFiles[0]) and
// sets Config.StderrPath to "/dev/fd/3". QEMU's file chardev opens that
// path with O_WRONLY|O_CREAT|O_TRUNC, which on Linux reopens the pipe
// (O_CREAT and O_TRUNC do nothing to a pipe).
const StderrFD = 3

// Run boots cfg on qemu-system-x86_64 from PATH and returns the app's exit
// status (0..255), decoded by DecodeExit.
//
// Run makes a temporary directory for the control file (overriding
// cfg.ControlPath) and removes it before returning. QEMU's stdin is
// /dev/null. The guest's two output streams reach the host through pipes,
// so QEMU never gets the user's terminal (which stays in cooked mode) and
// bytes pass unchanged: COM1 (QEMU's stdout, the app's stdout) is copied to
// stdout, COM2 (QEMU's fd 3, cfg.StderrPath = /dev/fd/3: the app's stderr
// and the kernel's diagnostics) to stderr, and so are QEMU's own messages
// on its stderr (such as a rejected option or a kernel it cannot load).
// Writes to stdout and stderr are serialised, so both may be the same
// writer; nil discards. Run drains every pipe to its end before it
// returns. When ctx is cancelled QEMU gets SIGKILL.
//
// When a writer fails, the rest of its stream is discarded (the VM never
// blocks on a full pipe). A broken pipe (an error matching syscall.EPIPE,
// as when the reader of `gosv run ... | head -1` is gone) on either stream
// stops the VM at once, as SIGPIPE would stop the app, and Run returns a
// *WriteError. Any other stdout failure (a full disk) lets the VM finish
// and then makes Run return a *WriteError instead of the status; other
// stderr failures are ignored (a closed stderr does not stop a program).
//
// Errors: ErrNoQEMU when QEMU is missing; cfg's validation error; a failure
// to start QEMU; a *WriteError; and, when the VM reported no exit status,
// DecodeExit's error or one naming the signal that killed QEMU or ctx's
// error.
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
	cfg.StderrPath = fmt.Sprintf("/dev/fd/%d", StderrFD)
	args, err := cfg.Args()
	if err != nil {
		return 0, err
	}

	var mu sync.Mutex
	out := &lockedWriter{mu: &mu, w: stdout, name: "stdout"}
	errw := &lockedWriter{mu: &mu, w: stderr, name: "stderr"}
	outR, outW, err := os.Pipe()
	if err != nil {
		return 0, fmt.Errorf("creating the stdout pipe: %w", err)
	}
	defer outR.Close()
	com2R, com2W, err := os.Pipe()
	if err != nil {
		outW.Close()
		return 0, fmt.Errorf("creating the stderr pipe: %w", err)
	}
	defer com2R.Close()

	cmd := exec.CommandContext(ctx, path, args...)
	cmd.Stdin = nil                    // /dev/null
	cmd.Stdout = outW                  // a pipe, never the user's terminal
	cmd.Stderr = errw                  // not an *os.File: exec.Cmd pipes and copies it
	cmd.ExtraFiles = []*os.File{com2W} // fd 3 = StderrFD
	// A cancelled run (Ctrl-C, SIGTERM to gosv) stops the VM at once:
	// SIGKILL, since on SIGTERM QEMU prints a line of its own.
	cmd.Cancel = func() error { return cmd.Process.Kill() }
	// QEMU dies with gosv, even when gosv is killed with SIGKILL.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	cmd.WaitDelay = stopGrace
	// A broken pipe stops the VM (SIGKILL: on SIGTERM QEMU writes a note
	// to the stderr that may be what broke).
	var brokenPipe atomic.Bool
	var stopOnce sync.Once
	stop := func() {
		stopOnce.Do(func() {
			brokenPipe.Store(true)
			cmd.Process.Kill()
		})
	}
	out.onBrokenPipe, errw.onBrokenPipe = stop, stop

	startErr := cmd.Start()
	// QEMU holds its own copies of the write ends now (or never will).
	outW.Close()
	com2W.Close()
	var runErr error
	if startErr != nil {
		runErr = startErr
	} else {
		drained := make(chan struct{}, 2)
		go drain(out, outR, drained)
		go drain(errw, com2R, drained)
		runErr = cmd.Wait()
		// QEMU has exited: its ends of the pipes are closed, so both
		// copies reach EOF once the buffered bytes are out. Only a process
		// that inherited a write end could keep them open; give up on it
		// after the grace period.
		timeout := time.NewTimer(stopGrace)
		for n := 0; n < 2; {
			select {
			case <-drained:
				n++
			case <-timeout.C:
				outR.Close()
				com2R.Close()
			}
		}
		timeout.Stop()
	}
	if cmd.ProcessState == nil {
		return 0, fmt.Errorf("running %s: %w", Binary, runErr)
	}
	if werr := out.failure(); werr != nil {
		return 0, werr
	}
	if werr := errw.failure(); werr != nil && brokenPipe.Load() {
		return 0, werr
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

// WriteError reports that the app's output could not be written to the
// writer given to Run.
type WriteError struct {
	Stream string // "stdout" or "stderr"
	Err    error  // the writer's error; syscall.EPIPE for a broken pipe
}

func (e *WriteError) Error() string { return "writing the app's " + e.Stream + ": " + e.Err.Error() }
func (e *WriteError) Unwrap() error { return e.Err }

// lockedWriter serialises the writes of several goroutines to one writer
// (all lockedWriters of one Run share mu). A nil writer discards. After
// the first error every write fails with it; onBrokenPipe is called when
// that error is a broken pipe.
type lockedWriter struct {
	mu           *sync.Mutex
	w            io.Writer
	name         string
	err          error
	onBrokenPipe func()
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	if l.w == nil {
		return len(p), nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.err != nil {
		return 0, l.err
	}
	n, err := l.w.Write(p)
	if err == nil && n < len(p) {
		err = io.ErrShortWrite
	}
	if err != nil {
		l.err = err
		if errors.Is(err, syscall.EPIPE) && l.onBrokenPipe != nil {
			l.onBrokenPipe()
		}
	}
	return n, err
}

// failure returns the writer's error as a *WriteError, or nil.
func (l *lockedWriter) failure() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.err == nil {
		return nil
	}
	return &WriteError{Stream: l.name, Err: l.err}
}

// drain copies src to dst until src ends, a line at a time: QEMU writes
// the serial ports byte by byte, and whole lines keep the app's stdout and
// stderr from interleaving mid-line when both go to one file. A partial
// line is written when nothing more arrives for lineWait. When dst fails,
// drain keeps reading src (discarding) so the writer on the other side
// never blocks. It then signals done.
func drain(dst io.Writer, src io.Reader, done chan<- struct{}) {
	const lineWait = 20 * time.Millisecond
	chunks := make(chan []byte, 16)
	go func() {
		defer close(chunks)
		for {
			b := make([]byte, 32<<10)
			n, err := src.Read(b)
			if n > 0 {
				chunks <- b[:n]
			}
			if err != nil {
				return
			}
		}
	}()
	failed := false
	write := func(p []byte) {
		if !failed && len(p) > 0 {
			if _, err := dst.Write(p); err != nil {
				failed = true
			}
		}
	}
	var pending []byte
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	defer timer.Stop()
	for {
		select {
		case b, ok := <-chunks:
			if !ok {
				write(pending)
				done <- struct{}{}
				return
			}
			pending = append(pending, b...)
			if i := bytes.LastIndexByte(pending, '\n'); i >= 0 {
				write(pending[:i+1])
				pending = append(pending[:0:0], pending[i+1:]...)
			}
			if len(pending) > 64<<10 {
				write(pending)
				pending = nil
			}
			if len(pending) > 0 {
				timer.Reset(lineWait)
			}
		case <-timer.C:
			write(pending)
			pending = nil
		}
	}
}
