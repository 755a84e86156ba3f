// Package har reads and writes HAR 1.2 files (HTTP Archive: browser
// DevTools, mitmproxy, Charles) as bw exchanges.
//
// # Reading
//
// [Import] reads a HAR file into a [store.DB], all or nothing: a first pass
// checks every entry and stores nothing; a second pass stores them through a
// [store.Writer] and deletes what it wrote if anything fails. Both passes
// stream: one entry is in memory at a time, so a 1 GB file does not need
// 1 GB of memory. [Reader] is the streaming reader underneath, for callers
// that want exchanges without a database. Every problem with the input is an
// [*Error] naming the byte offset and, inside log.entries, the entry index
// (0-based, as in jq's .log.entries[N]).
//
// # Mapping
//
// An entry becomes a [store.Exchange] with Source [store.SourceHAR]: start
// time, duration, server address (serverIPAddress, with the port from the
// URL), request line, headers in order with repeats, postData text as the
// request body, response status, statusText, headers and content (base64
// decoded when content.encoding is "base64") as the response body.
// content.size is the body's Size. A status of -1 (Playwright's "no
// response") is stored as 0, and Playwright's "_failureText" as the
// exchange's Error, like Chrome's "_error".
//
// HTTP/2 and HTTP/3 pseudo-headers (":authority", ":method", ":path",
// ":scheme", ":status", ":protocol"), which browsers list among the
// headers, are the request and status lines, not headers: they are left
// out of the stored headers ([store.IsPseudoHeader]) and fill in what the
// entry's URL, method or status lack (":authority" gives the host of a
// URL without one when there is no Host header). Meta keeps them with
// their places, so that an export lists them as the file did.
//
// HAR bodies are stored decoded by the tools that write them, so when a
// message has a Content-Encoding header the body's Decoded field names that
// coding. A body whose text is missing while content.size says it had
// bytes, or that is marked as cut short, is stored Truncated.
//
// Everything else an entry holds (timings, cache, connection, cookies,
// headersSize, bodySize, comments, custom "_" fields such as _initiator or
// _transferSize, ...) is kept in the exchange's Meta, as the difference
// between the entry and what [Export] would write for the exchange alone,
// so that import then export gives back every field (keys starting with
// "bw:" are reserved for that record and dropped from input). Meta also
// keeps the entry's page (the log.pages item its pageref names) and
// log.browser. log.creator and log.comment are not kept, since an export
// names bw as its creator; pages no entry refers to are not kept either.
//
// With redaction on (the default), secrets kept in Meta (cookie values, query
// and form parameters and headers named like secrets, passwords in URLs) are
// replaced by placeholders too.
//
// # Writing
//
// [Export] and [Writer] stream HAR 1.2 with bw as the creator, entries in
// capture order. A body is written as text when it is valid UTF-8 and not
// binary, else base64 with encoding "base64". HAR wants decoded bodies; a
// body recorded as it was on the wire (Decoded empty while Content-Encoding
// says gzip or deflate) is decompressed for content.text, with
// content.compression and bodySize giving the wire size. A body that cannot
// be decompressed (br, zstd, cut short) is written as its wire bytes in
// base64 and marked with "_bwCompressed": CODING, which [Import] reads back
// as wire bytes. Other bw-only facts use "_bw" fields too: "_bwTruncated",
// "_bwDecoded", "_bwSize" (postData), "_clientAddress", "_serverAddress",
// and the response's "_error" (as Chrome writes it) holds [store.Exchange.Error].
//
// log.pages and log.browser are written after log.entries, since they are
// only known once every exchange has been seen; JSON object order carries no
// meaning in HAR.
package har
