// Command kernel is the gosv kernel: it boots on bare virtual hardware
// (package machine) and runs the app given on its command line.
package main

import (
	"fmt"
	"time"

	"github.com/gosv/gosv/kernel/machine"
)

func main() {
	hz, src := machine.TSCHz()
	fmt.Println("gosv kernel", machine.Cmdline(), hz, src, time.Now())
	for _, s := range machine.Stages() {
		fmt.Println(s.Name, s.NS)
	}
	fmt.Println("now", machine.Nanotime())
	fmt.Println(machine.Counters())
	t0 := time.Now()
	time.Sleep(100 * time.Millisecond)
	fmt.Println("slept", time.Since(t0))
	fmt.Println(machine.Counters())
}
