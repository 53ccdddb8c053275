package main

// The Linux guest that every figure is compared with: Debian's cloud kernel
// booted on the same QEMU as gosv (same machine type, accelerator, CPU model,
// memory and CPU count), with a one-program initramfs whose /init is the
// program being measured.
//
// The kernel comes from Debian's linux-image-cloud-amd64 (apt-get download,
// cached). QEMU's microvm has no firmware, so the kernel is booted the way
// gosv is, through the PVH ELF note of the uncompressed vmlinux; the vmlinux
// is taken out of the bzImage by finding its LZ4 payload (the method of
// Linux's scripts/extract-vmlinux) and running lz4 -d.

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// linuxGuest boots programs as /init of a Linux guest.
type linuxGuest struct {
	vmlinux string // the extracted, uncompressed kernel
	accel   string // kvm or tcg, the accelerator gosv resolved to
	tscKHz  string // the host TSC rate for tsc_early_khz, or ""
	tmp     string
}

// cacheDir is where the downloaded kernel package and the extracted vmlinux
// are kept between runs: $GOSV_BENCH_CACHE, else the user cache directory.
func cacheDir() (string, error) {
	if d := os.Getenv("GOSV_BENCH_CACHE"); d != "" {
		return d, os.MkdirAll(d, 0o755)
	}
	d, err := os.UserCacheDir()
	if err != nil {
		return "", err
	}
	d = filepath.Join(d, "gosv-bench")
	return d, os.MkdirAll(d, 0o755)
}

// newLinuxGuest finds (or downloads and extracts) the Debian cloud kernel.
func newLinuxGuest(accel, tmp string) (*linuxGuest, error) {
	cache, err := cacheDir()
	if err != nil {
		return nil, err
	}
	pkg, out := kernelPackage()
	if pkg == "" {
		// A machine whose package lists were never fetched knows no
		// packages: fetch them once and ask again.
		if b, err := exec.Command("apt-get", "update", "-qq").CombinedOutput(); err != nil {
			return nil, fmt.Errorf("apt-get update: %v\n%s", err, b)
		}
		pkg, out = kernelPackage()
	}
	if pkg == "" {
		return nil, fmt.Errorf("no kernel package named by linux-image-cloud-amd64:\n%s", out)
	}
	vmlinux := filepath.Join(cache, "vmlinux-"+strings.TrimPrefix(pkg, "linux-image-"))
	if _, err := os.Stat(vmlinux); err != nil {
		if err := extractKernel(cache, pkg, vmlinux); err != nil {
			return nil, err
		}
	}
	g := &linuxGuest{vmlinux: vmlinux, accel: accel, tmp: tmp}
	if accel == "tcg" {
		// Under TCG on microvm (no HPET, no PM timer) the kernel calibrates
		// the TSC against the PIT, which sometimes fails and hangs the boot;
		// the guest TSC ticks at the host's rate, so give the rate.
		if khz := hostTSCkHz(); khz > 0 {
			g.tscKHz = fmt.Sprint(khz)
		}
	}
	return g, nil
}

// kernelPackage returns the package that Debian's metapackage
// linux-image-cloud-amd64 depends on (the current
// linux-image-<version>-cloud-amd64), or "" and apt-cache's output.
func kernelPackage() (string, []byte) {
	out, _ := exec.Command("apt-cache", "depends", "linux-image-cloud-amd64").CombinedOutput()
	for _, line := range strings.Split(string(out), "\n") {
		if f := strings.Fields(line); len(f) == 2 && f[0] == "Depends:" && strings.HasPrefix(f[1], "linux-image-") {
			return f[1], out
		}
	}
	return "", out
}

// extractKernel downloads pkg into cache, unpacks its vmlinuz and writes the
// uncompressed vmlinux to dst.
func extractKernel(cache, pkg, dst string) error {
	debs, _ := filepath.Glob(filepath.Join(cache, pkg+"_*.deb"))
	if len(debs) == 0 {
		cmd := exec.Command("apt-get", "download", pkg)
		cmd.Dir = cache
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("apt-get download %s: %v\n%s", pkg, err, out)
		}
		debs, _ = filepath.Glob(filepath.Join(cache, pkg+"_*.deb"))
		if len(debs) == 0 {
			return fmt.Errorf("apt-get download %s left no .deb in %s", pkg, cache)
		}
	}
	root := filepath.Join(cache, "root-"+pkg)
	if out, err := exec.Command("dpkg-deb", "-x", debs[0], root).CombinedOutput(); err != nil {
		return fmt.Errorf("dpkg-deb -x %s: %v\n%s", debs[0], err, out)
	}
	defer os.RemoveAll(root)
	zs, _ := filepath.Glob(filepath.Join(root, "boot", "vmlinuz-*"))
	if len(zs) == 0 {
		return fmt.Errorf("no /boot/vmlinuz-* in %s", debs[0])
	}
	z, err := os.ReadFile(zs[0])
	if err != nil {
		return err
	}
	// The bzImage's payload is an LZ4 legacy frame (magic 02 21 4c 18).
	off := bytes.Index(z, []byte{0x02, 0x21, 0x4c, 0x18})
	if off < 0 {
		return fmt.Errorf("%s: no LZ4 payload (this bench knows only LZ4-compressed kernels)", zs[0])
	}
	cmd := exec.Command("lz4", "-dc")
	cmd.Stdin = bytes.NewReader(z[off:])
	var elf bytes.Buffer
	cmd.Stdout = &elf
	_ = cmd.Run() // lz4 complains about the bytes after the frame; the check below is what counts
	if !bytes.HasPrefix(elf.Bytes(), []byte("\x7fELF")) {
		return fmt.Errorf("%s: lz4 -d did not give an ELF (is lz4 installed?)", zs[0])
	}
	if err := os.WriteFile(dst+".tmp", elf.Bytes(), 0o644); err != nil {
		return err
	}
	return os.Rename(dst+".tmp", dst)
}

// hostTSCkHz reads the host CPU's rate from /proc/cpuinfo ("cpu MHz").
func hostTSCkHz() int {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "cpu MHz" {
			var mhz float64
			fmt.Sscan(strings.TrimSpace(v), &mhz)
			return int(mhz * 1000)
		}
	}
	return 0
}

// run boots prog as the guest's /init with args and returns the serial
// console output. QEMU ends when the program powers the guest off, or when
// it exits: that panics the kernel, which with panic=-1 and -no-reboot ends
// QEMU. A guest still running after timeout is killed.
func (g *linuxGuest) run(memMiB, cpus int, timeout time.Duration, prog string, args ...string) (string, error) {
	initrd := filepath.Join(g.tmp, "linux-"+filepath.Base(prog)+".cpio")
	if _, err := os.Stat(initrd); err != nil {
		if err := writeInitrd(initrd, prog); err != nil {
			return "", err
		}
	}
	cmdline := "console=ttyS0 quiet panic=-1 reboot=t"
	if g.tscKHz != "" {
		cmdline += " tsc_early_khz=" + g.tscKHz
	}
	if len(args) > 0 {
		cmdline += " -- " + strings.Join(args, " ")
	}
	cpu := "max"
	if g.accel == "kvm" {
		cpu = "host"
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "qemu-system-x86_64", "-M", "microvm", "-accel", g.accel, "-cpu", cpu,
		"-m", fmt.Sprintf("%dM", memMiB), "-smp", fmt.Sprint(cpus),
		"-nodefaults", "-no-user-config", "-display", "none", "-no-reboot", "-serial", "stdio",
		"-kernel", g.vmlinux, "-initrd", initrd, "-append", cmdline)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return strings.ReplaceAll(out.String(), "\r", ""), err
}

// writeInitrd writes a newc cpio archive holding /dev/console (which the
// kernel opens as /init's standard streams) and prog as /init. The cpio
// package the image builder uses cannot write device numbers, so the few
// headers are written here.
func writeInitrd(path, prog string) error {
	data, err := os.ReadFile(prog)
	if err != nil {
		return err
	}
	var b bytes.Buffer
	ino := 1
	add := func(name string, mode, rmaj, rmin int, body []byte) {
		fmt.Fprintf(&b, "070701%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x%s\x00",
			ino, mode, 0, 0, 1, 0, len(body), 0, 0, rmaj, rmin, len(name)+1, 0, name)
		ino++
		for b.Len()%4 != 0 {
			b.WriteByte(0)
		}
		b.Write(body)
		for b.Len()%4 != 0 {
			b.WriteByte(0)
		}
	}
	add("dev", 0o040755, 0, 0, nil)
	add("dev/console", 0o020600, 5, 1, nil)
	add("init", 0o100755, 0, 0, data)
	add("TRAILER!!!", 0, 0, 0, nil)
	return os.WriteFile(path, b.Bytes(), 0o644)
}
