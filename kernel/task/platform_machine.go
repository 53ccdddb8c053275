package task

import "github.com/gosv/gosv/kernel/machine"

// MachinePlatform is the platform of the real kernel: package machine's
// clock, CPUs, memory and app contexts. The address space is the single
// one of the machine layer (every process shares it until processes get
// page tables of their own).
func MachinePlatform() Platform {
	hz, _ := machine.TSCHz()
	return Platform{
		Nanotime:   func() int64 { return int64(machine.Nanotime()) },
		NumCPU:     machine.NCPU(),
		CurrentCPU: func() int { return 0 }, // the run queue is global; getcpu reports CPU 0
		CPUMHz:     float64(hz) / 1e6,
		MemInfo: func() MemStats {
			total, free, _ := machine.MemStats()
			return MemStats{Total: total, Free: free, Available: free}
		},
		HWCap:      machine.HWCap(),
		NewContext: machine.NewAppContext,
		Runner:     machineRunner{},
		Mem:        machineMem{},
		Pager:      machinePager{},
	}
}

// machineMem, machinePager and machineRunner connect the kernel objects
// to the machine layer.
type machineMem struct{}

func (machineMem) CopyIn(dst []byte, addr uintptr) error  { return machine.CopyIn(dst, addr) }
func (machineMem) CopyOut(addr uintptr, src []byte) error { return machine.CopyOut(addr, src) }

type machinePager struct{}

func (machinePager) Map(addr, n uintptr, prot int) error { return machine.MapApp(addr, n, prot) }
func (machinePager) Unmap(addr, n uintptr) error         { return machine.UnmapApp(addr, n) }
func (machinePager) Protect(addr, n uintptr, prot int) error {
	return machine.ProtectApp(addr, n, prot)
}

type machineRunner struct{}

func (machineRunner) Run(t *Task) { machine.RunApp(t.Ctx) }
func (machineRunner) Interrupt(t *Task) {
	if t.Ctx != nil {
		machine.Interrupt(t.Ctx)
	}
	t.Wake()
}
