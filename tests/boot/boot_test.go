// Package boot holds the boot tests: they build the kernel with the host
// kernel builder, boot it under QEMU and check what it prints and returns.
package boot

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gosv/gosv/internal/host/kbuild"
	"github.com/gosv/gosv/internal/host/qemu"
)

var (
	kernelPath string // built once in TestMain
	gosvPath   string // the host CLI, built once in TestMain
)

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "gosv-boot-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := func() int {
		root, err := filepath.Abs("../..")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		ctx := context.Background()
		kernelPath = filepath.Join(dir, "gosv-kernel.elf")
		if err := kbuild.Build(ctx, kbuild.BuildOptions{Dir: root, Out: kernelPath, Stderr: os.Stderr}); err != nil {
			fmt.Fprintln(os.Stderr, "building the kernel:", err)
			return 1
		}
		gosvPath = filepath.Join(dir, "gosv")
		cmd := exec.Command("go", "build", "-o", gosvPath, "./cmd/gosv")
		cmd.Dir, cmd.Stderr = root, os.Stderr
		if err := cmd.Run(); err != nil {
			fmt.Fprintln(os.Stderr, "building gosv:", err)
			return 1
		}
		return m.Run()
	}()
	os.RemoveAll(dir)
	os.Exit(code)
}

// boot runs the kernel with the given loader options and returns the exit
// status and console output.
func boot(t *testing.T, hv, accel string, mem int, kernelArgs ...string) (int, string, string) {
	t.Helper()
	return bootN(t, hv, accel, mem, 1, kernelArgs...)
}

func bootN(t *testing.T, hv, accel string, mem, cpus int, kernelArgs ...string) (int, string, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	var out, errb bytes.Buffer
	cfg := qemu.Config{
		Hypervisor: hv, Accel: accel, MemoryMiB: mem, CPUs: cpus,
		Kernel: kernelPath, Cmdline: qemu.QuoteCmdline(kernelArgs),
		ControlPath: filepath.Join(t.TempDir(), "control"),
	}
	status, err := qemu.Run(ctx, cfg, &out, &errb)
	if err != nil {
		t.Fatalf("boot %v: %v\nconsole:\n%s\nstderr:\n%s", kernelArgs, err, out.String(), errb.String())
	}
	return status, out.String(), errb.String()
}

// accels lists the accelerators to test on this host: TCG always, KVM
// only when /dev/kvm is real hardware virtualisation (TestKVM says why not).
func accels(t *testing.T) []string {
	if a, _, _ := qemu.ChooseAccel(qemu.AccelAuto, qemu.HostProbe()); a == qemu.AccelKVM {
		return []string{qemu.AccelTCG, qemu.AccelKVM}
	}
	return []string{qemu.AccelTCG}
}

// TestKVM boots under KVM, where the host has it: the TSC then comes from
// kvmclock and the timer runs in TSC-deadline mode.
func TestKVM(t *testing.T) {
	a, note, err := qemu.ChooseAccel(qemu.AccelAuto, qemu.HostProbe())
	if err != nil {
		t.Fatal(err)
	}
	if a != qemu.AccelKVM {
		t.Skipf("needs hardware KVM (VMX/SVM); this host has none: %s", note)
	}
	status, out, _ := boot(t, qemu.HypervisorMicrovm, qemu.AccelKVM, 128, "--selftest")
	if status != 0 || !strings.Contains(out, "(kvmclock)") {
		t.Errorf("status %d, want 0 and a kvmclock TSC:\n%s", status, out)
	}
}

var bannerRE = regexp.MustCompile(`(?m)^gosv \S+ \(go1\.\d+[.\d]*\): \d+ CPU, \d+ MiB, TSC \d+\.\d\d GHz \(.+\), ready in \d+\.\d\d ms\r?$`)

// With no app the kernel boots, prints its banner and powers off with 0.
func TestBootProbe(t *testing.T) {
	for _, hv := range qemu.Hypervisors {
		for _, accel := range accels(t) {
			t.Run(hv+"/"+accel, func(t *testing.T) {
				status, out, _ := boot(t, hv, accel, 128)
				if status != 0 {
					t.Errorf("status %d, want 0\n%s", status, out)
				}
				if !bannerRE.MatchString(out) {
					t.Errorf("no banner in console output:\n%s", out)
				}
			})
		}
	}
}

// selftestSummary is the last line of a passing --selftest run: the
// runtime checks plus the device checks that run only in the kernel.
const selftestSummary = "selftest: 15 of 15 checks passed"

// checkSelftest checks that every check of --selftest passed and that the
// device checks found what the machine hv has: the RTC's interrupt through
// the I/O APIC(s), PCI through ECAM on q35 and no PCI on microvm.
func checkSelftest(t *testing.T, hv, out string) {
	t.Helper()
	if !strings.Contains(out, selftestSummary) {
		t.Errorf("suite summary %q missing:\n%s", selftestSummary, out)
	}
	for _, name := range []string{"goroutines", "channels", "select", "sync", "threads", "gc", "sleep", "timers", "walltime", "crypto/rand", "sha256",
		"irq-ipi", "irq-ioapic", "pci", "mmio"} {
		if !regexp.MustCompile(`selftest: ` + regexp.QuoteMeta(name) + ` +ok`).MatchString(out) {
			t.Errorf("check %s did not pass:\n%s", name, out)
		}
	}
	want := []string{
		"selftest:   irq-ioapic: I/O APIC at 0xfec00000: GSIs 0-23",
		"selftest:   mmio: local APIC at 0xfee00000",
	}
	switch hv {
	case qemu.HypervisorQ35:
		want = append(want, "selftest:   pci: PCI 00:00.0 8086:29c0 class 060000 via ECAM (ports agree)",
			"irq-ioapic: ISA IRQ 0 -> GSI 2; ISA IRQ 8 -> GSI 8 (level false, active low false)")
	default:
		want = append(want, "selftest:   pci: PCI absent", "selftest:   irq-ioapic: I/O APIC at 0xfec10000: GSIs 24-47",
			"irq-ioapic: ISA IRQ 0 -> GSI 0; ISA IRQ 8 -> GSI 8 (level false, active low false)")
	}
	for _, w := range want {
		if !strings.Contains(out, w) {
			t.Errorf("selftest output lacks %q:\n%s", w, out)
		}
	}
}

// --selftest runs the in-kernel suite over the Go runtime and the device
// services, and exits 0.
func TestSelftest(t *testing.T) {
	for _, hv := range qemu.Hypervisors {
		for _, accel := range accels(t) {
			t.Run(hv+"/"+accel, func(t *testing.T) {
				status, out, _ := boot(t, hv, accel, 128, "--selftest")
				if status != 0 {
					t.Errorf("status %d, want 0\n%s", status, out)
				}
				checkSelftest(t, hv, out)
			})
		}
	}
}

// The exit status set in the kernel reaches the host, including values
// above 127 that isa-debug-exit alone cannot carry.
func TestExitStatus(t *testing.T) {
	for _, want := range []int{0, 3, 127, 200, 255} {
		status, out, _ := boot(t, qemu.HypervisorMicrovm, qemu.AccelTCG, 128, fmt.Sprintf("--exit=%d", want))
		if status != want {
			t.Errorf("--exit=%d: status %d\n%s", want, status, out)
		}
	}
}

// A CPU exception in kernel code is reported (vector, registers, a
// symbolized backtrace) and powers off with 125.
func TestKernelFault(t *testing.T) {
	for kind, name := range map[string]string{"pf": "#PF page fault", "ud": "#UD invalid opcode", "gp": "#GP general protection"} {
		t.Run(kind, func(t *testing.T) {
			status, _, out := boot(t, qemu.HypervisorMicrovm, qemu.AccelTCG, 128, "--fault="+kind) // the report is on stderr
			if status != 125 {
				t.Errorf("status %d, want 125", status)
			}
			for _, want := range []string{"gosv: kernel fault: " + name, "rip=0x", "rflags=", "backtrace:", "kernel/machine.", "main.main+0x"} {
				if !strings.Contains(out, want) {
					t.Errorf("report lacks %q:\n%s", want, out)
				}
			}
			if kind == "pf" && !strings.Contains(out, "address 0x00007fff00000000 not present, read") {
				t.Errorf("page-fault report lacks the address:\n%s", out)
			}
		})
	}
}

// Bad loader options are refused with a message, not ignored.
func TestBadLoaderOption(t *testing.T) {
	status, out, errs := boot(t, qemu.HypervisorMicrovm, qemu.AccelTCG, 128, "--no-such-option")
	if status != 125 || !strings.Contains(errs, `gosv: unknown loader option "--no-such-option"`) {
		t.Errorf("status %d, stdout:\n%s\nstderr:\n%s", status, out, errs)
	}
}

// --bootchart prints every stage with its time since entry, then the total.
func TestBootchart(t *testing.T) {
	status, out, _ := boot(t, qemu.HypervisorMicrovm, qemu.AccelTCG, 128, "--bootchart")
	if status != 0 {
		t.Fatalf("status %d\n%s", status, out)
	}
	re := regexp.MustCompile(`bootchart: (\S+) +(\d+\.\d+) ms`)
	var names []string
	var last float64 = -1
	for _, m := range re.FindAllStringSubmatch(out, -1) {
		var v float64
		fmt.Sscan(m[2], &v)
		if m[1] != "total" {
			if v < last {
				t.Errorf("stage %s at %v ms comes before the previous stage (%v ms)", m[1], v, last)
			}
			last = v
		}
		names = append(names, m[1])
	}
	if got, want := strings.Join(names, " "), "entry clock cpu smp runtime main ready total"; got != want {
		t.Errorf("stages %q, want %q\n%s", got, want, out)
	}
}

// The kernel boots in 16 MiB.
func TestSmallMemory(t *testing.T) {
	status, out, _ := boot(t, qemu.HypervisorMicrovm, qemu.AccelTCG, 16)
	if status != 0 || !bannerRE.MatchString(out) {
		t.Errorf("status %d\n%s", status, out)
	}
}

// The guard from DESIGN.md: level-0 functions (the unexported functions of
// kernel/machine; its exported ones are the API level 1 calls) never grow
// the stack, hit a write barrier, allocate or call a panic helper.
func TestLevel0Guard(t *testing.T) {
	elf, err := os.ReadFile(kernelPath)
	if err != nil {
		t.Fatal(err)
	}
	vs, err := kbuild.CheckLevel0(elf, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range vs {
		name := strings.TrimPrefix(v.Function, "github.com/gosv/gosv/kernel/machine.")
		if name != "" && name[0] >= 'A' && name[0] <= 'Z' {
			continue // exported: level-1 API
		}
		t.Errorf("level-0 violation: %v", v)
	}
}

// gosv run: the CLI boots the kernel and exits with the kernel's status;
// an unknown flag is a usage error with status 125.
func TestCLI(t *testing.T) {
	run := func(args ...string) (int, string, string) {
		cmd := exec.Command(gosvPath, args...)
		var out, errb bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errb
		err := cmd.Run()
		if ee, ok := err.(*exec.ExitError); ok {
			return ee.ExitCode(), out.String(), errb.String()
		} else if err != nil {
			t.Fatal(err)
		}
		return 0, out.String(), errb.String()
	}
	if status, out, errs := run("run", "--accel", "tcg", "--kernel", kernelPath, "--kernel-arg=--exit=42"); status != 42 {
		t.Errorf("gosv run --exit=42: status %d\n%s%s", status, out, errs)
	}
	if status, out, _ := run("run", "--accel", "tcg", "--kernel", kernelPath); status != 0 || !bannerRE.MatchString(out) {
		t.Errorf("gosv run: status %d\n%s", status, out)
	}
	if status, _, errs := run("run", "-m", "0", "--kernel", kernelPath); status != 125 || !strings.Contains(errs, "gosv: ") {
		t.Errorf("gosv run -m 0: status %d, stderr %q", status, errs)
	}
	if status, out, _ := run("version"); status != 0 || !strings.HasPrefix(out, "gosv ") {
		t.Errorf("gosv version: status %d, %q", status, out)
	}
}

// With -c N the kernel starts every CPU, its Go runtime sees N CPUs
// (GOMAXPROCS), and the self-test passes; 4 vCPUs on a 2-core host are
// oversubscribed and must still work.
func TestSMP(t *testing.T) {
	for _, n := range []int{2, 4} {
		for _, hv := range qemu.Hypervisors {
			t.Run(fmt.Sprintf("%s/%d", hv, n), func(t *testing.T) {
				status, out, _ := bootN(t, hv, qemu.AccelTCG, 128, n, "--selftest")
				if status != 0 {
					t.Errorf("status %d\n%s", status, out)
				}
				checkSelftest(t, hv, out)
				if !strings.Contains(out, fmt.Sprintf("): %d CPU, ", n)) {
					t.Errorf("banner does not report %d CPUs:\n%s", n, out)
				}
			})
		}
	}
}
