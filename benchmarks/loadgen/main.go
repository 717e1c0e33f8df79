// Command loadgen is the end-to-end benchmark's client: it streams messages through
// BatchSend at a given rate and reports how long each request took to be accepted.
//
// The request without its personalizations (subject, bodies, sender, tracking) comes
// serialized from a file that benchmarks/e2e.py writes, so both clients send the same
// message; loadgen adds the recipients and their substitutions (name, city, order, as in
// benchmarks/message.py). It is written in Go so that the load it offers costs the machine
// less than the Python client did (about a quarter less CPU per request): it shares the two
// cores with the platform under test.
//
//	loadgen -target 127.0.0.1:50051 -key pw_... -base request.bin -messages 20000 [-rate 800] [-batch 10] [-first 0]
//
// It prints one JSON object: {"latencies_ms": [...], "ids": [...], "seconds": s}; an item the
// API refused ends it with exit status 1 and the refusal on stderr.
//
// Several tenants at once: -key takes a comma-separated list of keys; the messages, the rate
// and the recipients are split between them as benchmarks/e2e.py splits them (the first
// messages%keys tenants get one more), each tenant on a stream of its own, and the output is a
// JSON list of such objects, one per key, in order.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime/pprof"
	"strings"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/postwave/postwave/clients/go/postwavev1"
)

var cities = []string{"Lyon", "Porto", "Turin", "Ghent"}

type report struct {
	LatenciesMs []float64 `json:"latencies_ms"`
	IDs         []string  `json:"ids"`
	Seconds     float64   `json:"seconds"`
}

func personalization(i int) *postwavev1.Personalization {
	subs, err := structpb.NewStruct(map[string]any{
		"name": fmt.Sprintf("Customer %d", i), "city": cities[i%4], "order": 100000 + i,
	})
	if err != nil {
		panic(err)
	}
	return &postwavev1.Personalization{To: []string{fmt.Sprintf("user%d@bench.test", i)}, Substitutions: subs}
}

func main() {
	target := flag.String("target", "127.0.0.1:50051", "host:port of the gRPC API")
	key := flag.String("key", "", "API key (scope mail.send)")
	basePath := flag.String("base", "", "file with the serialized SendRequest, without personalizations")
	messages := flag.Int("messages", 1000, "messages to send")
	rate := flag.Float64("rate", 0, "messages per second (0 = as fast as the API answers)")
	batch := flag.Int("batch", 1, "recipients (personalizations) per request")
	first := flag.Int("first", 0, "number of the first recipient (user<first>@bench.test)")
	cpuProfile := flag.String("cpuprofile", "", "write a CPU profile of the run to this file (go tool pprof)")
	flag.Parse()
	if *key == "" || *basePath == "" || *messages < 1 || *batch < 1 {
		fmt.Fprintln(os.Stderr, "loadgen: -key, -base, -messages >= 1 and -batch >= 1 are required (see -help)")
		os.Exit(2)
	}
	raw, err := os.ReadFile(*basePath)
	if err != nil {
		fmt.Fprintf(os.Stderr, "loadgen: reading the base request: %v\n", err)
		os.Exit(2)
	}
	base := &postwavev1.SendRequest{}
	if err := proto.Unmarshal(raw, base); err != nil {
		fmt.Fprintf(os.Stderr, "loadgen: %s is not a serialized SendRequest: %v\n", *basePath, err)
		os.Exit(2)
	}
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err == nil {
			err = pprof.StartCPUProfile(f)
		}
		if err != nil {
			fmt.Fprintf(os.Stderr, "loadgen: -cpuprofile: %v\n", err)
			os.Exit(2)
		}
		defer pprof.StopCPUProfile()
	}
	keys := strings.Split(*key, ",")
	if len(keys) > *messages {
		fmt.Fprintf(os.Stderr, "loadgen: %d keys for %d messages: every tenant needs one at least\n", len(keys), *messages)
		os.Exit(2)
	}
	reports := make([]*report, len(keys))
	errs := make([]error, len(keys))
	var wg sync.WaitGroup
	start := *first
	for t, k := range keys {
		share := *messages / len(keys)
		if t < *messages%len(keys) {
			share++
		}
		wg.Add(1)
		go func(t int, k string, share, from int) {
			defer wg.Done()
			reports[t], errs[t] = run(*target, k, base, share, *rate/float64(len(keys)), *batch, from)
		}(t, k, share, start)
		start += share
	}
	wg.Wait()
	for t, err := range errs {
		if err != nil {
			fmt.Fprintf(os.Stderr, "loadgen: tenant %d: %v\n", t, err)
			os.Exit(1)
		}
	}
	var out any = reports
	if len(keys) == 1 {
		out = reports[0]
	}
	if err := json.NewEncoder(os.Stdout).Encode(out); err != nil {
		fmt.Fprintf(os.Stderr, "loadgen: %v\n", err)
		os.Exit(1)
	}
}

func run(target, key string, base *postwavev1.SendRequest, total int, rate float64, batch, first int) (*report, error) {
	conn, err := grpc.NewClient(target, grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.MaxCallSendMsgSize(64<<20)))
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Hour)
	defer cancel()
	ctx = metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+key)
	stream, err := postwavev1.NewSendServiceClient(conn).BatchSend(ctx)
	if err != nil {
		return nil, err
	}
	count := (total + batch - 1) / batch
	sentAt := make([]time.Time, count)
	written := make(chan int, count) // how many are written: the reader never reads a send time not yet set
	sendErr := make(chan error, 1)
	begin := time.Now()
	go func() {
		defer close(written)
		var interval time.Duration
		if rate > 0 {
			interval = time.Duration(float64(batch) / rate * float64(time.Second))
		}
		for r := 0; r < count; r++ {
			if interval > 0 {
				if wait := time.Until(begin.Add(time.Duration(r) * interval)); wait > 0 {
					time.Sleep(wait)
				}
			}
			req := proto.Clone(base).(*postwavev1.SendRequest)
			for i := first + r*batch; i < first+min(total, (r+1)*batch); i++ {
				req.Personalizations = append(req.Personalizations, personalization(i))
			}
			sentAt[r] = time.Now()
			written <- r
			if err := stream.Send(req); err != nil {
				sendErr <- err
				return
			}
		}
		sendErr <- stream.CloseSend()
	}()
	out := &report{LatenciesMs: make([]float64, 0, count), IDs: make([]string, 0, total)}
	for r := 0; ; r++ {
		resp, err := stream.Recv()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("stream broken after %d responses: %w", r, err)
		}
		<-written
		out.LatenciesMs = append(out.LatenciesMs, float64(time.Since(sentAt[r]).Microseconds())/1000)
		if resp.GetCode() != 0 {
			return nil, fmt.Errorf("request %d refused: %s", r, resp.GetError())
		}
		for _, m := range resp.GetMessages() {
			out.IDs = append(out.IDs, m.GetMessageId())
		}
	}
	if err := <-sendErr; err != nil {
		return nil, fmt.Errorf("sending: %w", err)
	}
	if len(out.LatenciesMs) != count {
		return nil, fmt.Errorf("%d of %d requests answered", len(out.LatenciesMs), count)
	}
	out.Seconds = time.Since(begin).Seconds()
	return out, nil
}
