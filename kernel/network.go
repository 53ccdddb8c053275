package main

import (
	"fmt"
	"os"

	"github.com/gosv/gosv/kernel/bootopts"
	"github.com/gosv/gosv/kernel/dev/machinedev"
	"github.com/gosv/gosv/kernel/dev/virtio"
	"github.com/gosv/gosv/kernel/machine"
	knet "github.com/gosv/gosv/kernel/net"
	"github.com/gosv/gosv/kernel/task"
)

// startNetwork finds the VM's virtio devices (ACPI DSDT on microvm,
// virtio_mmio.device= words, PCI bus 0 on q35), attaches the network
// cards to a netstack configured by the loader options, and gives the
// stack to the kernel. It returns the configuration for /etc/resolv.conf,
// or false when the VM has no network card (sockets then reach only the
// loopback interface). A card that cannot be used is reported and
// skipped: the app still runs.
func startNetwork(k *task.Kernel, opts bootopts.Options, slots []virtio.MMIODevice) (knet.Config, bool, error) {
	cfg, err := knet.ParseOptions(knet.Config{}, opts.Net)
	if err != nil {
		return cfg, false, err
	}
	p := machinedev.Platform{}
	ts, errs := virtio.Discover(p, slots, machinedev.PCIPresent())
	for _, e := range errs {
		fmt.Fprintf(os.Stderr, "gosv: %v\n", e)
	}
	cards := 0
	for _, t := range ts {
		if t.DeviceType() == virtio.TypeNet {
			cards++
		}
	}
	if cards == 0 {
		// No card: the loopback-only stack is made on the first socket,
		// so a VM without network pays nothing for it at boot.
		return cfg, false, nil
	}
	st, nics, errs := knet.Up(p, ts, cfg, knet.Options{})
	for _, e := range errs {
		fmt.Fprintf(os.Stderr, "gosv: network: %v\n", e)
	}
	if st == nil {
		return cfg, false, nil
	}
	k.SetNetStack(st.S)
	machine.Mark("net")
	if opts.Verbose {
		for _, n := range nics {
			fmt.Fprintf(os.Stderr, "gosv: %v up, %v\n", n, cfg.Addr)
		}
	}
	return cfg, len(nics) > 0, nil
}
