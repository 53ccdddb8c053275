// Command kernel is the gosv kernel: it boots on bare virtual hardware
// (package machine), reads its loader options and runs the app given on
// its command line.
package main

import (
	"fmt"
	"os"
	"runtime"

	"github.com/gosv/gosv/internal/bootproto"
	"github.com/gosv/gosv/kernel/dev/virtio"

	"github.com/gosv/gosv/kernel/bootopts"
	"github.com/gosv/gosv/kernel/machine"
	"github.com/gosv/gosv/kernel/selftest"
)

// version is set by the kernel builder (-X main.version=...).
var version = "dev"

func main() {
	machine.Mark("main")
	words, err := bootopts.Split(machine.Cmdline())
	var opts bootopts.Options
	var app []string
	var slots []virtio.MMIODevice
	if err == nil {
		// Firecracker appends virtio_mmio.device= words after the app's.
		slots, words, err = virtio.FromCmdline(words)
	}
	if err == nil {
		opts, app, err = bootopts.Parse(words)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "gosv: %v\n", err)
		machine.Exit(bootproto.ExitRunnerFailed)
	}
	if opts.Help {
		fmt.Print(bootopts.Usage)
		machine.Exit(0)
	}
	if opts.Fault != "" {
		machine.Fault(opts.Fault)
	}
	machine.Mark("ready")
	if opts.Verbose || len(app) == 0 {
		banner()
	}
	if opts.Bootchart && len(app) == 0 {
		bootchart()
	}
	switch {
	case opts.Selftest:
		failed := selftest.Run(os.Stdout)
		if failed > 0 {
			machine.Exit(1)
		}
		machine.Exit(0)
	case opts.ExitSet:
		machine.Exit(opts.Exit)
	case len(app) == 0:
		machine.Exit(0)
	}
	machine.Exit(runApp(opts, app, slots))
}

func banner() {
	total, _, _ := machine.MemStats()
	hz, src := machine.TSCHz()
	ready := machine.Stages()[len(machine.Stages())-1].NS
	fmt.Printf("gosv %s (%s): %d CPU, %d MiB, TSC %.2f GHz (%s), ready in %.2f ms\n",
		version, runtime.Version(), runtime.NumCPU(), total>>20, float64(hz)/1e9, src, float64(ready)/1e6)
}

// bootchart prints each boot stage with its time since kernel entry and
// the time since the previous stage, then the total (OSv's --bootchart).
func bootchart() {
	var prev uint64
	st := machine.Stages()
	for _, s := range st {
		fmt.Printf("bootchart: %-8s %8.3f ms (+%.3f ms)\n", s.Name, float64(s.NS)/1e6, float64(s.NS-prev)/1e6)
		prev = s.NS
	}
	fmt.Printf("bootchart: total    %8.3f ms\n", float64(st[len(st)-1].NS)/1e6)
}
