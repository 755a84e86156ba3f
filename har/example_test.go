package har_test

import (
	"fmt"
	"io"
	"log"
	"os"
	"strings"
	"time"

	"github.com/backworks/bw/har"
	"github.com/backworks/bw/store"
)

// Read a HAR document entry by entry, without a database.
func ExampleReader() {
	const doc = `{"log": {"version": "1.2", "creator": {"name": "demo", "version": "1"}, "entries": [
	  {"startedDateTime": "2024-05-14T09:30:01.123Z", "time": 12.5,
	   "request": {"method": "GET", "url": "https://api.example.com/users/42?fields=name",
	               "httpVersion": "HTTP/1.1", "headers": [], "cookies": [], "queryString": [],
	               "headersSize": -1, "bodySize": 0},
	   "response": {"status": 200, "statusText": "OK", "httpVersion": "HTTP/1.1",
	                "headers": [{"name": "Content-Encoding", "value": "gzip"}], "cookies": [],
	                "content": {"size": 13, "mimeType": "application/json", "text": "{\"name\":\"Ada\"}"},
	                "redirectURL": "", "headersSize": -1, "bodySize": 33},
	   "cache": {}, "timings": {"send": 0, "wait": 12.5, "receive": 0}}]}}`
	rd := har.NewReader(strings.NewReader(doc), har.ReaderOptions{Name: "demo.har"})
	for {
		ex, err := rd.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(ex.Request.Method, ex.Request.URL(), ex.Response.Status, ex.Duration)
		fmt.Printf("%s (decoded from %s)\n", ex.Response.Body.Data, ex.Response.Body.Decoded)
	}
	// Output:
	// GET https://api.example.com/users/42?fields=name 200 12.5ms
	// {"name":"Ada"} (decoded from gzip)
}

// Errors name the file, the entry and the byte.
func ExampleError() {
	const doc = `{"log": {"entries": [{"startedDateTime": "2024-05-14T09:30:01Z",
	  "request": {"method": "GET", "url": "http://a/"}, "response": {"status": "200"}}]}}`
	_, err := har.NewReader(strings.NewReader(doc), har.ReaderOptions{Name: "capture.har"}).Next()
	fmt.Println(err)
	// Output:
	// capture.har: entry 0 (byte 21): response.status: not a number
}

// Write exchanges as HAR.
func ExampleWriter() {
	w := har.NewWriter(os.Stdout, har.WriterOptions{CreatorVersion: "1.0"})
	w.Write(&store.Exchange{
		Start:    time.Date(2024, 5, 14, 9, 30, 0, 0, time.UTC),
		Duration: 2 * time.Millisecond,
		Request:  store.Request{Method: "GET", Scheme: "http", Host: "a.test", Path: "/", Proto: "HTTP/1.1"},
		Response: store.Response{Status: 204, Proto: "HTTP/1.1"},
	})
	if err := w.Close(); err != nil {
		log.Fatal(err)
	}
	// Output:
	// {
	//   "log": {
	//     "version": "1.2",
	//     "creator": {
	//       "name": "bw",
	//       "version": "1.0"
	//     },
	//     "entries": [
	//       {
	//         "startedDateTime": "2024-05-14T09:30:00.000Z",
	//         "time": 2,
	//         "request": {
	//           "method": "GET",
	//           "url": "http://a.test/",
	//           "httpVersion": "HTTP/1.1",
	//           "cookies": [],
	//           "headers": [],
	//           "queryString": [],
	//           "headersSize": -1,
	//           "bodySize": 0
	//         },
	//         "response": {
	//           "status": 204,
	//           "statusText": "No Content",
	//           "httpVersion": "HTTP/1.1",
	//           "cookies": [],
	//           "headers": [],
	//           "content": {
	//             "size": 0,
	//             "mimeType": ""
	//           },
	//           "redirectURL": "",
	//           "headersSize": -1,
	//           "bodySize": 0
	//         },
	//         "cache": {},
	//         "timings": {
	//           "send": 0,
	//           "wait": 2,
	//           "receive": 0
	//         }
	//       }
	//     ]
	//   }
	// }
}
