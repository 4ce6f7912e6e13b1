-- POSTs a body of the given size: wrk -s upload.lua <url> -- <bytes> (default 1 MiB).
-- wrk calls init() before it formats the request, and formats it once per thread.

dofile(debug.getinfo(1, "S").source:match("^@(.*/)") .. "report.lua")

function init(args)
   wrk.method = "POST"
   wrk.body = string.rep("x", tonumber(args[1]) or 1048576)
   wrk.headers["Content-Type"] = "application/octet-stream"
end
