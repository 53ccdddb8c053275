// Command gosv-kbuild builds the gosv kernel and writes a PVH-bootable ELF.
//
// Usage:
//
//	gosv-kbuild -o FILE [-dir DIR]
//
// It runs `go build` on ./kernel of the module in DIR (default: the current
// directory) with GOOS=linux GOARCH=amd64 CGO_ENABLED=0 and
// -ldflags "-T 0x400000201000 -E github.com/gosv/gosv/kernel/machine.pvhEntry",
// rewrites the physical load addresses and the PVH entry note (see package
// internal/host/kbuild), and replaces FILE atomically. On failure it prints
// one line to standard error and exits with status 1.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"

	"github.com/gosv/gosv/internal/host/kbuild"
)

func main() {
	out := flag.String("o", "", "write the kernel image to `FILE` (required)")
	dir := flag.String("dir", ".", "module root `DIR` to build in")
	version := flag.String("version", "", "kernel version `V` shown in its banner")
	flag.Usage = func() {
		fmt.Fprintf(flag.CommandLine.Output(), "usage: gosv-kbuild -o FILE [-dir DIR] [-version V]\n")
		flag.PrintDefaults()
	}
	flag.Parse()
	if *out == "" || flag.NArg() != 0 {
		flag.Usage()
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	err := kbuild.Build(ctx, kbuild.BuildOptions{Dir: *dir, Out: *out, Stderr: os.Stderr, Version: *version})
	if err != nil {
		fmt.Fprintf(os.Stderr, "gosv-kbuild: %v\n", err)
		stop()
		os.Exit(1)
	}
}
