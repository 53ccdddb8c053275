// Command bench prints gosv's benchmark figures (make bench): boot time,
// host wall time of `gosv run`, the smallest memory that boots, and app
// figures. Each figure is the median of at least 10 runs.
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

	fmt.Printf("gosv benchmarks (%d runs each, medians; accelerator %s)\n\n", *runs, *accel)
	fmt.Println("Boot (no app):")
	bootTimes := func(extra ...string) []float64 {
		var ms []float64
		for i := 0; i < *runs; i++ {
			out, _, status := run(append([]string{"run", "--accel", *accel, "--kernel-arg=--bootchart"}, extra...)...)
			if status != 0 {
				fatalf("boot failed (status %d):\n%s", status, out)
			}
			ms = append(ms, stage(out, "ready"))
		}
		return ms
	}
	fmt.Printf("  guest boot, entry to ready-for-app:          %8.3f ms\n", median(bootTimes()))
	fmt.Printf("  guest boot, TCG -icount (instructions/1e6):  %8.3f ms\n", median(bootTimes("--qemu-arg=-icount", "--qemu-arg=shift=0,sleep=off")))
	var wall []float64
	for i := 0; i < *runs; i++ {
		t0 := time.Now()
		if _, _, status := run("run", "--accel", *accel); status != 0 {
			fatalf("gosv run failed")
		}
		wall = append(wall, float64(time.Since(t0).Microseconds())/1000)
	}
	fmt.Printf("  host wall time of `gosv run` (no app):       %8.1f ms\n", median(wall))
	fmt.Printf("  smallest -m that boots and powers off:       %8d MiB\n", smallest(func(m int) bool {
		_, _, status := run("run", "--accel", *accel, "-m", strconv.Itoa(m))
		return status == 0
	}))

	// App figures.
	fmt.Println("\nStatic apps:")
	hello := filepath.Join(tmp, "hello")
	if err := exec.Command("musl-gcc", "-static", "-O2", "-o", hello, "tests/apps/src/hello.c").Run(); err != nil {
		fatalf("building hello: %v", err)
	}
	nullsys := filepath.Join(tmp, "nullsys")
	if err := exec.Command("musl-gcc", "-static", "-O2", "-o", nullsys, "tests/bench/src/nullsys.c").Run(); err != nil {
		fatalf("building nullsys: %v", err)
	}
	wall = nil
	for i := 0; i < *runs; i++ {
		t0 := time.Now()
		out, _, status := run("run", "--accel", *accel, hello)
		if status != 0 || !strings.Contains(out, "argc=1") {
			fmt.Printf("  static hello world does not run yet (status %d)\n", status)
			return
		}
		wall = append(wall, float64(time.Since(t0).Microseconds())/1000)
	}
	fmt.Printf("  host wall time of `gosv run hello` (musl):   %8.1f ms\n", median(wall))
	fmt.Printf("  smallest -m that prints the greeting:        %8d MiB\n", smallest(func(m int) bool {
		out, _, status := run("run", "--accel", *accel, "-m", strconv.Itoa(m), hello)
		return status == 0 && strings.Contains(out, "argc=1")
	}))
	var native, guest []float64
	for i := 0; i < *runs; i++ {
		out, err := exec.Command(nullsys, "1000000").Output()
		check(err)
		native = append(native, parseFloat(out))
		gout, _, status := run("run", "--accel", *accel, nullsys, "100000")
		if status != 0 {
			fmt.Printf("  null syscall: gosv run failed (status %d)\n", status)
			return
		}
		guest = append(guest, parseFloat([]byte(gout)))
	}
	n, g := median(native), median(guest)
	fmt.Printf("  null syscall (getppid): gosv %.0f ns, host %.0f ns, ratio %.1f\n", g, n, g/n)

	// Dynamic programs: wall time with the image build, from a prebuilt
	// image (build excluded), and the smallest memory.
	fmt.Println("\nDynamically linked programs:")
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
		withBuild := timeRuns(append([]string{"run", "--accel", *accel}, app...)...)
		prebuilt := timeRuns("run", "--accel", *accel, img)
		fmt.Printf("  %-28s with image build %7.1f ms, prebuilt image %7.1f ms\n", name+":", withBuild, prebuilt)
		fmt.Printf("  %-28s smallest -m %d MiB\n", "", smallest(func(m int) bool {
			_, _, status := run("run", "--accel", *accel, "-m", strconv.Itoa(m), img)
			return status == 0
		}))
	}

	// SMP: a CPU-bound parallel program (SHA-256 over a fixed amount of
	// data) with 1 thread on 1 vCPU and 2 threads on 2 vCPUs.
	fmt.Println("\nSMP (parallel SHA-256, 256 MiB in all):")
	psha := filepath.Join(tmp, "psha")
	cmd := exec.Command("go", "build", "-o", psha, "./tests/bench/src/psha")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		fatalf("building psha: %v\n%s", err, out)
	}
	times := func(cpus, threads int, inGuest bool) float64 {
		var v []float64
		for i := 0; i < *runs; i++ {
			if !inGuest {
				out, err := exec.Command(psha, strconv.Itoa(threads), "256").Output()
				check(err)
				v = append(v, parseFloat(out))
				continue
			}
			out, _, status := run("run", "--accel", *accel, "-c", strconv.Itoa(cpus), psha, strconv.Itoa(threads), "256")
			if status != 0 {
				fatalf("psha -c %d failed (status %d)", cpus, status)
			}
			v = append(v, parseFloat([]byte(out)))
		}
		return median(v)
	}
	g1, g2 := times(1, 1, true), times(2, 2, true)
	h1, h2 := times(0, 1, false), times(0, 2, false)
	fmt.Printf("  gosv: -c 1 %.0f ms, -c 2 %.0f ms, speed-up %.2f\n", g1, g2, g1/g2)
	fmt.Printf("  host: 1 thread %.0f ms, 2 threads %.0f ms, speed-up %.2f\n", h1, h2, h1/h2)
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
