package qemu

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// tinyPVH returns a minimal 32-bit PVH ELF kernel that writes console to
// COM1, stderr to COM2, control to the control port, then debugExit to
// isa-debug-exit
// (nothing when debugExit < 0), and halts with interrupts off. It lets Run be
// tested end to end without the real kernel.
func tinyPVH(console, stderr, control string, debugExit int) []byte {
	return buildPVH(console, stderr, control, debugExit, false)
}

// tinyPVHLoop returns a kernel that writes console and stderr over and
// over, forever.
func tinyPVHLoop(console, stderr string) []byte {
	return buildPVH(console, stderr, "", -1, true)
}

func buildPVH(console, stderr, control string, debugExit int, loop bool) []byte {
	const base, entry = 0x100000, 0x180
	le := binary.LittleEndian
	b := make([]byte, entry)
	copy(b, "\x7fELF\x01\x01\x01")   // ELFCLASS32, little-endian, version 1
	le.PutUint16(b[16:], 2)          // ET_EXEC
	le.PutUint16(b[18:], 3)          // EM_386
	le.PutUint32(b[20:], 1)          // EV_CURRENT
	le.PutUint32(b[24:], base+entry) // e_entry
	le.PutUint32(b[28:], 52)         // e_phoff
	le.PutUint16(b[40:], 52)         // e_ehsize
	le.PutUint16(b[42:], 32)         // e_phentsize
	le.PutUint16(b[44:], 2)          // e_phnum
	ph := func(off int, typ, offset, addr, size, flags, align uint32) {
		for i, v := range []uint32{typ, offset, addr, addr, size, size, flags, align} {
			le.PutUint32(b[off+4*i:], v)
		}
	}
	// Xen note XEN_ELFNOTE_PHYS32_ENTRY at 0x100.
	for i, v := range []uint32{4, 4, 18} {
		le.PutUint32(b[0x100+4*i:], v)
	}
	copy(b[0x10c:], "Xen\x00")
	le.PutUint32(b[0x110:], base+entry)

	out := func(port uint16, s string) {
		b = append(b, 0x66, 0xba, byte(port), byte(port>>8)) // mov dx, port
		for i := 0; i < len(s); i++ {
			b = append(b, 0xb0, s[i], 0xee) // mov al, c; out dx, al
		}
	}
	// Interleave COM1 and COM2 in small pieces, so both pipes carry data
	// at the same time.
	for console != "" || stderr != "" {
		var c, e string
		c, console = console[:min(len(console), 16)], console[min(len(console), 16):]
		e, stderr = stderr[:min(len(stderr), 16)], stderr[min(len(stderr), 16):]
		out(0x3f8, c)
		out(StderrPort, e)
	}
	if loop {
		rel := entry - (len(b) + 5)
		b = append(b, 0xe9, byte(rel), byte(rel>>8), byte(rel>>16), byte(rel>>24)) // jmp entry
	}
	out(ControlPort, control)
	if debugExit >= 0 {
		b = append(b, 0xb0, byte(debugExit), 0xe6, DebugExitPort) // mov al, v; out 0xf4, al
	}
	b = append(b, 0xfa, 0xf4, 0xeb, 0xfd) // cli; hlt; jmp hlt

	ph(52, 1, 0, base, uint32(len(b)), 5, 0x1000) // PT_LOAD R+X, whole file
	ph(84, 4, 0x100, 0, 20, 4, 4)                 // PT_NOTE
	return b
}

func needQEMU(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("boots QEMU")
	}
	if _, err := exec.LookPath(Binary); err != nil {
		t.Skipf("%s not installed", Binary)
	}
}

func runTiny(t *testing.T, kernel []byte, hv string) (int, string, string, error) {
	t.Helper()
	dir := t.TempDir()
	// A comma in the directory checks the escaping of QEMU option values.
	k := filepath.Join(dir, "ker,nel.elf")
	if err := os.WriteFile(k, kernel, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(dir, "a,b"), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("TMPDIR", filepath.Join(dir, "a,b"))
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var stdout, stderr bytes.Buffer
	cfg := Config{Hypervisor: hv, Accel: AccelTCG, MemoryMiB: 64, CPUs: 1, Kernel: k, Cmdline: QuoteCmdline([]string{"/app", "a b"})}
	status, err := Run(ctx, cfg, &stdout, &stderr)
	left, _ := os.ReadDir(filepath.Join(dir, "a,b"))
	if len(left) != 0 {
		t.Errorf("Run left %d entries in TMPDIR", len(left))
	}
	return status, stdout.String(), stderr.String(), err
}

func TestRunControlLine(t *testing.T) {
	needQEMU(t)
	status, stdout, stderr, err := runTiny(t, tinyPVH("hello from the guest\n", "", "boot done\nexit 42\n", 42&0x7f), HypervisorMicrovm)
	if err != nil || status != 42 {
		t.Fatalf("Run = %d, %v; want 42 (stderr %q)", status, err, stderr)
	}
	if stdout != "hello from the guest\n" {
		t.Errorf("console = %q", stdout)
	}
}

// COM2 reaches stderr through the pipe on QEMU's fd 3 (QEMU reopens
// /dev/fd/3 with O_WRONLY|O_CREAT|O_TRUNC), COM1 reaches stdout, every
// byte unchanged (no CR added, binary bytes kept), and the tails written
// just before the VM powers off are not lost.
func TestRunStderrPort(t *testing.T) {
	needQEMU(t)
	var console, stderr strings.Builder
	for i := range 300 {
		fmt.Fprintf(&console, "out line %d\n", i)
		fmt.Fprintf(&stderr, "err line %d\r\n", i)
	}
	console.WriteString("\x00\xff\x1b[0m tail of stdout")
	stderr.WriteString("\x00\xfe tail of stderr\n")
	for _, hv := range Hypervisors {
		t.Run(hv, func(t *testing.T) {
			status, gotOut, gotErr, err := runTiny(t, tinyPVH(console.String(), stderr.String(), "exit 9\n", 9), hv)
			if err != nil || status != 9 {
				t.Fatalf("Run = %d, %v; want 9 (stderr %q)", status, err, gotErr)
			}
			// The firmware of q35 (SeaBIOS) may print on the console first.
			if !strings.HasSuffix(gotOut, console.String()) || hv == HypervisorMicrovm && gotOut != console.String() {
				t.Errorf("stdout: %d bytes, want %d; tail %q", len(gotOut), console.Len(), gotOut[max(0, len(gotOut)-40):])
			}
			if gotErr != stderr.String() {
				t.Errorf("stderr: %d bytes, want %d; tail %q", len(gotErr), stderr.Len(), gotErr[max(0, len(gotErr)-40):])
			}
		})
	}
}

// stdout and stderr may be the same writer: Run serialises the writes.
func TestRunSameWriter(t *testing.T) {
	needQEMU(t)
	dir := t.TempDir()
	k := filepath.Join(dir, "k.elf")
	if err := os.WriteFile(k, tinyPVH(strings.Repeat("o", 2000), strings.Repeat("e", 2000), "exit 0\n", 0), 0o644); err != nil {
		t.Fatal(err)
	}
	var both bytes.Buffer
	status, err := Run(context.Background(), Config{Accel: AccelTCG, MemoryMiB: 64, CPUs: 1, Kernel: k}, &both, &both)
	if err != nil || status != 0 {
		t.Fatalf("Run = %d, %v", status, err)
	}
	if o, e := strings.Count(both.String(), "o"), strings.Count(both.String(), "e"); o != 2000 || e != 2000 || both.Len() != 4000 {
		t.Errorf("got %d o, %d e, %d bytes; want 2000, 2000, 4000", o, e, both.Len())
	}
}

// failWriter accepts limit bytes, then fails with err.
type failWriter struct {
	limit int
	n     int
	err   error
}

func (w *failWriter) Write(p []byte) (int, error) {
	if w.n+len(p) > w.limit {
		return 0, w.err
	}
	w.n += len(p)
	return len(p), nil
}

func runKernel(t *testing.T, kernel []byte, stdout, stderr io.Writer) (int, error) {
	t.Helper()
	k := filepath.Join(t.TempDir(), "k.elf")
	if err := os.WriteFile(k, kernel, 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	return Run(ctx, Config{Accel: AccelTCG, MemoryMiB: 64, CPUs: 1, Kernel: k}, stdout, stderr)
}

// A broken pipe on stdout (gosv run ... | head -1) stops a VM that would
// print forever, and Run says why.
func TestRunBrokenPipeStopsVM(t *testing.T) {
	needQEMU(t)
	for _, stream := range []string{"stdout", "stderr"} {
		t.Run(stream, func(t *testing.T) {
			broken := &failWriter{limit: 100, err: &os.PathError{Op: "write", Path: "|1", Err: syscall.EPIPE}}
			var stdout, stderr io.Writer = broken, io.Discard
			if stream == "stderr" {
				stdout, stderr = io.Discard, broken
			}
			start := time.Now()
			_, err := runKernel(t, tinyPVHLoop("yes\n", "no\n"), stdout, stderr)
			var we *WriteError
			if !errors.As(err, &we) || we.Stream != stream || !errors.Is(err, syscall.EPIPE) {
				t.Fatalf("Run = %v, want a *WriteError for %s matching EPIPE", err, stream)
			}
			if want := "writing the app's " + stream + ": write |1: broken pipe"; err.Error() != want {
				t.Errorf("error %q, want %q", err, want)
			}
			if d := time.Since(start); d > 20*time.Second {
				t.Errorf("took %v to stop", d)
			}
		})
	}
}

// Other write failures do not stop the VM: a failing stderr is ignored, a
// failing stdout is reported once the VM is done.
func TestRunWriteFailures(t *testing.T) {
	needQEMU(t)
	kernel := tinyPVH(strings.Repeat("o", 500), strings.Repeat("e", 500), "exit 5\n", 5)
	var stdout bytes.Buffer
	status, err := runKernel(t, kernel, &stdout, &failWriter{err: errors.New("bad stderr")})
	if err != nil || status != 5 || stdout.Len() != 500 {
		t.Errorf("failing stderr: Run = %d, %v, %d bytes of stdout; want 5, nil, 500", status, err, stdout.Len())
	}
	var stderr bytes.Buffer
	_, err = runKernel(t, kernel, &failWriter{limit: 10, err: syscall.ENOSPC}, &stderr)
	var we *WriteError
	if !errors.As(err, &we) || we.Stream != "stdout" || !errors.Is(err, syscall.ENOSPC) {
		t.Errorf("failing stdout: Run = %v, want a *WriteError for stdout", err)
	}
	if stderr.Len() != 500 {
		t.Errorf("failing stdout: %d bytes of stderr, want 500", stderr.Len())
	}
}

func TestRunControlBeyondSevenBits(t *testing.T) {
	needQEMU(t)
	status, _, stderr, err := runTiny(t, tinyPVH("", "", "exit 200\n", 200&0x7f), HypervisorMicrovm)
	if err != nil || status != 200 {
		t.Fatalf("Run = %d, %v; want 200 (stderr %q)", status, err, stderr)
	}
}

func TestRunDebugExitOnly(t *testing.T) {
	needQEMU(t)
	status, _, stderr, err := runTiny(t, tinyPVH("", "", "", 3), HypervisorMicrovm)
	if err != nil || status != 3 {
		t.Fatalf("Run = %d, %v; want 3 (stderr %q)", status, err, stderr)
	}
}

func TestRunQ35(t *testing.T) {
	needQEMU(t)
	status, stdout, stderr, err := runTiny(t, tinyPVH("q35\n", "", "exit 7\n", 7), HypervisorQ35)
	if err != nil || status != 7 {
		t.Fatalf("Run = %d, %v; want 7 (stderr %q)", status, err, stderr)
	}
	// The firmware (SeaBIOS) may print on the console first.
	if !strings.HasSuffix(stdout, "q35\n") {
		t.Errorf("console = %q", stdout)
	}
}

func TestRunQEMUFailureReachesUser(t *testing.T) {
	needQEMU(t)
	status, _, stderr, err := runTiny(t, []byte("not an ELF"), HypervisorMicrovm)
	if err == nil {
		t.Fatalf("Run of a non-kernel = %d, nil; want an error", status)
	}
	if !strings.Contains(err.Error(), "QEMU failed (exit status 1)") {
		t.Errorf("err = %v", err)
	}
	if !strings.Contains(stderr, "qemu") {
		t.Errorf("QEMU's own message did not reach stderr: %q", stderr)
	}
}

func TestRunCancelled(t *testing.T) {
	needQEMU(t)
	// A kernel that never exits.
	k := filepath.Join(t.TempDir(), "hang.elf")
	if err := os.WriteFile(k, tinyPVH("", "", "", -1), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	var stderr bytes.Buffer
	_, err := Run(ctx, Config{Accel: AccelTCG, MemoryMiB: 64, CPUs: 1, Kernel: k}, &bytes.Buffer{}, &stderr)
	if err == nil || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Run with a hanging kernel = %v, want a deadline error (stderr %q)", err, stderr.String())
	}
}

func TestRunWithoutQEMU(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	_, err := Run(context.Background(), Config{Accel: AccelTCG, MemoryMiB: 64, CPUs: 1, Kernel: "/k"}, nil, nil)
	if !errors.Is(err, ErrNoQEMU) {
		t.Fatalf("Run without QEMU: %v", err)
	}
	if want := "qemu-system-x86_64 not found: install it with `apt-get install qemu-system-x86`"; err.Error() != want {
		t.Errorf("error %q, want %q", err, want)
	}
}

func TestRunInvalidConfig(t *testing.T) {
	needQEMU(t)
	_, err := Run(context.Background(), Config{Accel: AccelTCG, MemoryMiB: 64, CPUs: 0, Kernel: "/k"}, nil, nil)
	if err == nil || !strings.Contains(err.Error(), "invalid CPU count 0") {
		t.Fatalf("Run with 0 CPUs: %v", err)
	}
}
