// Command bench prints gosv's benchmark figures (make bench): boot time,
// host wall time of `gosv run`, the smallest memory that boots, system-call
// micro-benchmarks and app figures, each next to the same figure for a Linux
// guest (Debian's cloud kernel) booted on the same QEMU with the same
// accelerator, memory and CPUs, and their ratio. Each figure is the median of
// at least 10 runs. It is a report, not an assertion.
package main

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/gosv/gosv/internal/host/qemu"
)

var (
	gosv  = flag.String("gosv", "bin/gosv", "the gosv binary (with its kernel embedded)")
	runs  = flag.Int("n", 10, "runs per figure")
	accel = flag.String("accel", "auto", "accelerator for gosv run")
)

func main() {
	flag.Parse()
	if _, err := os.Stat(*gosv); err != nil {
		fmt.Fprintf(os.Stderr, "bench: %v (run make build first)\n", err)
		os.Exit(1)
	}
	tmp, err := os.MkdirTemp("", "gosv-bench-")
	check(err)
	defer os.RemoveAll(tmp)
	acc, _, err := qemu.ChooseAccel(*accel, qemu.HostProbe())
	check(err)
	lg, err := newLinuxGuest(acc, tmp)
	check(err)

	fmt.Printf("gosv benchmarks (%d runs each, medians; accelerator %s; Linux guest: %s on the same QEMU)\n",
		*runs, acc, filepath.Base(lg.vmlinux))
	fmt.Printf("%-46s %12s %12s %7s\n", "", "gosv", "Linux guest", "ratio")

	sysbench := filepath.Join(tmp, "sysbench")
	hello := filepath.Join(tmp, "hello")
	buildC(sysbench, "tests/bench/src/sysbench.c")
	buildC(hello, "tests/apps/src/hello.c")

	// The system-call rows: sysbench runs all of them in one boot; in the
	// Linux guest it is /init and also reports the guest's boot time.
	gRows, lRows, hRows := map[string][]float64{}, map[string][]float64{}, map[string][]float64{}
	for i := 0; i < *runs; i++ {
		out, errs, status := run("run", "--accel", acc, sysbench, "5")
		if status != 0 {
			fatalf("sysbench in gosv failed (status %d):\n%s%s", status, out, errs)
		}
		addRows(gRows, out)
		lout, err := lg.run(128, 1, 5*time.Minute, sysbench, "--init", "5")
		if !strings.Contains(lout, "\ndone\n") {
			fatalf("sysbench in the Linux guest failed (%v):\n%s", err, lout)
		}
		addRows(lRows, lout)
		hout, err := exec.Command(sysbench, "5").Output()
		check(err)
		addRows(hRows, string(hout))
	}

	fmt.Println("Boot (no app):")
	bootTimes := func(extra ...string) []float64 {
		var ms []float64
		for i := 0; i < *runs; i++ {
			out, _, status := run(append([]string{"run", "--accel", acc, "--kernel-arg=--bootchart"}, extra...)...)
			if status != 0 {
				fatalf("boot failed (status %d):\n%s", status, out)
			}
			ms = append(ms, stage(out, "ready"))
		}
		return ms
	}
	pair("guest boot, entry to ready-for-app (ms)", median(bootTimes()), median(lRows["boot"])/1e6, "%.3f")
	pair("guest boot, TCG -icount (instructions/1e6)", median(bootTimes("--qemu-arg=-icount", "--qemu-arg=shift=0,sleep=off")), -1, "%.3f")
	var wall []float64
	for i := 0; i < *runs; i++ {
		t0 := time.Now()
		if _, _, status := run("run", "--accel", acc); status != 0 {
			fatalf("gosv run failed")
		}
		wall = append(wall, float64(time.Since(t0).Microseconds())/1000)
	}
	pair("host wall time of `gosv run` (no app) (ms)", median(wall), -1, "%.1f")
	pair("smallest -m that boots and powers off (MiB)", float64(smallest(func(m int) bool {
		_, _, status := run("run", "--accel", acc, "-m", strconv.Itoa(m))
		return status == 0
	})), -1, "%.0f")

	fmt.Println("\nStatic apps:")
	wall = nil
	var lwall []float64
	for i := 0; i < *runs; i++ {
		t0 := time.Now()
		out, _, status := run("run", "--accel", acc, hello)
		if status != 0 || !strings.Contains(out, "argc=1") {
			fmt.Printf("  static hello world does not run yet (status %d)\n", status)
			return
		}
		wall = append(wall, float64(time.Since(t0).Microseconds())/1000)
		t0 = time.Now()
		if out, err := lg.run(128, 1, 5*time.Minute, hello); !strings.Contains(out, "argc=1") {
			fatalf("hello in the Linux guest failed (%v):\n%s", err, out)
		}
		lwall = append(lwall, float64(time.Since(t0).Microseconds())/1000)
	}
	pair("host wall time of running hello (musl) (ms)", median(wall), median(lwall), "%.1f")
	pair("smallest -m that prints the greeting (MiB)", float64(smallest(func(m int) bool {
		out, _, status := run("run", "--accel", acc, "-m", strconv.Itoa(m), hello)
		return status == 0 && strings.Contains(out, "argc=1")
	})), float64(smallest(func(m int) bool {
		out, _ := lg.run(m, 1, time.Minute, hello)
		return strings.Contains(out, "argc=1")
	})), "%.0f")

	fmt.Println("\nSystem calls (sysbench, ns per operation; host figures for reference):")
	for _, r := range []struct{ key, name string }{
		{"getppid", "null syscall (getppid)"},
		{"clock_gettime", "clock_gettime(CLOCK_MONOTONIC)"},
		{"pagefault", "page fault, fresh anonymous page"},
		{"futex_pingpong", "futex ping-pong, 2 threads (round trip)"},
		{"pipe_64KiB", "pipe, 64 KiB from one thread to another"},
		{"memcpy_1MiB", "memcpy 1 MiB (control)"},
	} {
		g, l := median(gRows[r.key]), median(lRows[r.key])
		fmt.Printf("  %-44s %12.1f %12.1f %7.2f   host %.1f\n", r.name, g, l, g/l, median(hRows[r.key]))
	}

	// Where a null syscall's time goes in gosv: --syscall-profile stamps
	// the parts of each round trip with the TSC (the stamps themselves add
	// a little to every part).
	fmt.Println("\nNull syscall round trip in gosv, by part (--syscall-profile, ns):")
	profs := map[string][]float64{}
	var names []string
	for i := 0; i < *runs; i++ {
		_, errs, status := run("run", "--accel", acc, "--kernel-arg=--syscall-profile", sysbench, "--only=getppid", "5")
		m := profRE.FindStringSubmatch(errs)
		if status != 0 || m == nil {
			fatalf("sysbench --only=getppid with --syscall-profile failed (status %d):\n%s", status, errs)
		}
		names = names[:0]
		for _, kv := range strings.Fields(m[1]) {
			k, v, _ := strings.Cut(kv, "=")
			f, _ := strconv.ParseFloat(v, 64)
			profs[k] = append(profs[k], f)
			names = append(names, k)
		}
	}
	for _, k := range names {
		fmt.Printf("  %-44s %12.0f\n", k, median(profs[k]))
	}

	// Dynamic programs: wall time with the image build, from a prebuilt
	// image (build excluded), and the smallest memory. The Linux guest's
	// initramfs holds one static program, so it has no figures here.
	fmt.Println("\nDynamically linked programs (gosv only):")
	for _, app := range [][]string{{"/usr/bin/hello"}, {"/usr/bin/python3", "-c", "pass"}} {
		name := strings.Join(app, " ")
		img := filepath.Join(tmp, filepath.Base(app[0])+".img")
		if _, _, status := run(append([]string{"build", "-o", img + "/"}, app...)...); status != 0 {
			fmt.Printf("  %s: gosv build failed (status %d)\n", name, status)
			continue
		}
		timeRuns := func(args ...string) float64 {
			var w []float64
			for i := 0; i < *runs; i++ {
				t0 := time.Now()
				if _, errs, status := run(args...); status != 0 {
					fatalf("%v failed (status %d): %s", args, status, errs)
				}
				w = append(w, float64(time.Since(t0).Microseconds())/1000)
			}
			return median(w)
		}
		withBuild := timeRuns(append([]string{"run", "--accel", acc}, app...)...)
		prebuilt := timeRuns("run", "--accel", acc, img)
		fmt.Printf("  %-28s with image build %7.1f ms, prebuilt image %7.1f ms\n", name+":", withBuild, prebuilt)
		fmt.Printf("  %-28s smallest -m %d MiB\n", "", smallest(func(m int) bool {
			_, _, status := run("run", "--accel", acc, "-m", strconv.Itoa(m), img)
			return status == 0
		}))
	}

	// SMP: a CPU-bound parallel program (SHA-256 over a fixed amount of
	// data) with 1 thread on 1 vCPU and 2 threads on 2 vCPUs, in both
	// guests (a static Go program, so it can be the Linux guest's /init).
	fmt.Println("\nSMP (parallel SHA-256, 256 MiB in all, ms):")
	psha := filepath.Join(tmp, "psha")
	cmd := exec.Command("go", "build", "-o", psha, "./tests/bench/src/psha")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		fatalf("building psha: %v\n%s", err, out)
	}
	times := func(cpus, threads int, where string) float64 {
		var v []float64
		for i := 0; i < *runs; i++ {
			switch where {
			case "host":
				out, err := exec.Command(psha, strconv.Itoa(threads), "256").Output()
				check(err)
				v = append(v, parseFloat(out))
			case "linux":
				out, err := lg.run(256, cpus, 5*time.Minute, psha, strconv.Itoa(threads), "256")
				m := pshaRE.FindStringSubmatch(out)
				if m == nil {
					fatalf("psha in the Linux guest failed (%v):\n%s", err, out)
				}
				v = append(v, parseFloat([]byte(m[1])))
			default:
				out, _, status := run("run", "--accel", acc, "-c", strconv.Itoa(cpus), psha, strconv.Itoa(threads), "256")
				if status != 0 {
					fatalf("psha -c %d failed (status %d)", cpus, status)
				}
				v = append(v, parseFloat([]byte(out)))
			}
		}
		return median(v)
	}
	g1, g2 := times(1, 1, "gosv"), times(2, 2, "gosv")
	l1, l2 := times(1, 1, "linux"), times(2, 2, "linux")
	h1, h2 := times(0, 1, "host"), times(0, 2, "host")
	pair("-c 1, 1 thread", g1, l1, "%.0f")
	pair("-c 2, 2 threads", g2, l2, "%.0f")
	pair("speed-up", g1/g2, l1/l2, "%.2f")
	fmt.Printf("  host: 1 thread %.0f ms, 2 threads %.0f ms, speed-up %.2f\n", h1, h2, h1/h2)
}

var pshaRE = regexp.MustCompile(`(?m)^(\d+(?:\.\d+)?)$`)

// pair prints one row: the gosv figure, the Linux guest's (l < 0: none) and
// their ratio.
func pair(name string, g, l float64, format string) {
	gs := fmt.Sprintf(format, g)
	if l < 0 {
		fmt.Printf("  %-44s %12s %12s %7s\n", name, gs, "-", "-")
		return
	}
	fmt.Printf("  %-44s %12s %12s %7.2f\n", name, gs, fmt.Sprintf(format, l), g/l)
}

var profRE = regexp.MustCompile(`syscall-profile: \d+ round trips, ns each:(.*)`)

var rowRE = regexp.MustCompile(`(?m)^row (\S+) ([\d.]+)$`)

// addRows adds sysbench's "row NAME NS" lines in out to rows.
func addRows(rows map[string][]float64, out string) {
	for _, m := range rowRE.FindAllStringSubmatch(out, -1) {
		v, _ := strconv.ParseFloat(m[2], 64)
		rows[m[1]] = append(rows[m[1]], v)
	}
}

// buildC compiles a static C program with musl-gcc.
func buildC(out, src string) {
	if b, err := exec.Command("musl-gcc", "-static", "-O2", "-o", out, src, "-lpthread").CombinedOutput(); err != nil {
		fatalf("building %s: %v\n%s", src, err, b)
	}
}

// run runs bin/gosv with args and returns stdout, stderr and the status.
func run(args ...string) (string, string, int) {
	cmd := exec.Command(*gosv, args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	status := 0
	if ee, ok := err.(*exec.ExitError); ok {
		status = ee.ExitCode()
	} else if err != nil {
		fatalf("%v", err)
	}
	return out.String(), errb.String(), status
}

var stageRE = regexp.MustCompile(`bootchart: (\S+)\s+([\d.]+) ms`)

func stage(out, name string) float64 {
	for _, m := range stageRE.FindAllStringSubmatch(out, -1) {
		if m[1] == name {
			v, _ := strconv.ParseFloat(m[2], 64)
			return v
		}
	}
	fatalf("no bootchart stage %q in:\n%s", name, out)
	return 0
}

// smallest finds the smallest memory size in MiB (2..256) for which ok holds,
// assuming ok is monotonic; each size is tried 3 times.
func smallest(ok func(int) bool) int {
	good := func(m int) bool {
		for i := 0; i < 3; i++ {
			if !ok(m) {
				return false
			}
		}
		return true
	}
	lo, hi := 2, 256
	if !good(hi) {
		return -1
	}
	for lo < hi {
		mid := (lo + hi) / 2
		if good(mid) {
			hi = mid
		} else {
			lo = mid + 1
		}
	}
	return lo
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	sort.Float64s(v)
	return v[len(v)/2]
}

func parseFloat(b []byte) float64 {
	v, err := strconv.ParseFloat(strings.TrimSpace(string(b)), 64)
	check(err)
	return v
}

func check(err error) {
	if err != nil {
		fatalf("%v", err)
	}
}

func fatalf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "bench: "+format+"\n", args...)
	os.Exit(1)
}
