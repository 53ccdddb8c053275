// Command gohello exercises a static Go program: goroutines, channels,
// timers, os file I/O, encoding/json and crypto/rand.
package main

import (
	"crypto/rand"
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"sync"
	"time"
)

type record struct {
	Name  string   `json:"name"`
	Count int      `json:"count"`
	Tags  []string `json:"tags"`
}

func main() {
	results := make(chan int, 100)
	var wg sync.WaitGroup
	for i := 0; i < 100; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			results <- i * i
		}(i)
	}
	wg.Wait()
	close(results)
	sum := 0
	for v := range results {
		sum += v
	}
	fmt.Println("sum of squares:", sum)

	start := time.Now()
	timer := time.NewTimer(30 * time.Millisecond)
	<-timer.C
	fmt.Println("timer fired after at least 30ms:", time.Since(start) >= 30*time.Millisecond)

	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		fmt.Println("rand:", err)
		os.Exit(1)
	}
	fmt.Println("random bytes:", len(b))

	dir, err := os.MkdirTemp("", "gohello")
	if err != nil {
		fmt.Println("mkdirtemp:", err)
		os.Exit(1)
	}
	rec := record{Name: "gosv", Count: 3, Tags: []string{"unikernel", "go"}}
	data, _ := json.Marshal(rec)
	path := dir + "/rec.json"
	if err := os.WriteFile(path, data, 0o644); err != nil {
		fmt.Println("write:", err)
		os.Exit(1)
	}
	back, err := os.ReadFile(path)
	if err != nil {
		fmt.Println("read:", err)
		os.Exit(1)
	}
	var got record
	json.Unmarshal(back, &got)
	fmt.Printf("json round trip: %s %+v\n", back, got)
	entries, _ := os.ReadDir(dir)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	sort.Strings(names)
	fmt.Println("dir:", names)
	os.RemoveAll(dir)
	_, err = os.Stat(dir)
	fmt.Println("removed:", os.IsNotExist(err))
	os.Exit(7)
}
