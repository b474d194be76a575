import { Card } from "../../components/ui/Card.tsx";

/** Short, copyable examples of forwarding the routing header on outbound calls (what makes isolation reach past the first hop). */
const SNIPPETS: { language: string; code: string }[] = [
  {
    language: "Node.js",
    code: `// Forward the routing headers of the request you are serving.
const ROUTING = ["kubernetes-route-as", "baggage"];
app.get("/", async (req, res) => {
  const headers = Object.fromEntries(ROUTING.filter((h) => req.headers[h]).map((h) => [h, req.headers[h]]));
  const items = await fetch("http://api/api/items", { headers });
  res.json(await items.json());
});`,
  },
  {
    language: ".NET",
    code: `// Program.cs: copy the header from the incoming request to every HttpClient call.
builder.Services.AddHeaderPropagation(o => o.Headers.Add("kubernetes-route-as"));
builder.Services.AddHttpClient("api", c => c.BaseAddress = new Uri("http://api"))
    .AddHeaderPropagation();
// …
app.UseHeaderPropagation();`,
  },
  {
    language: "Go",
    code: `// Forward the routing header of r on the outbound request.
func callAPI(r *http.Request) (*http.Response, error) {
    out, _ := http.NewRequestWithContext(r.Context(), "GET", "http://api/api/items", nil)
    if key := r.Header.Get("kubernetes-route-as"); key != "" {
        out.Header.Set("kubernetes-route-as", key)
    }
    return http.DefaultClient.Do(out)
}`,
  },
  {
    language: "Python",
    code: `# Flask + requests: forward the routing header of the current request.
from flask import request
import requests

def call_api():
    headers = {h: request.headers[h] for h in ("kubernetes-route-as", "baggage") if h in request.headers}
    return requests.get("http://api/api/items", headers=headers).json()`,
  },
];

export function HeaderPropagation() {
  return (
    <Card title="Header propagation" labelledBy="propagation-title">
      <p className="mb-4 text-sm text-slate-600">
        A personal URL marks the request with <code className="font-mono">kubernetes-route-as: &lt;key&gt;</code> at the first service. Requests reach your workstation only if every
        service on the way forwards that header (or a W3C <code className="font-mono">baggage</code> entry <code className="font-mono">kubernetes-route-as=&lt;key&gt;</code>, which
        OpenTelemetry forwards for you) on its own outbound calls. Without it, the next hop goes to the cluster&apos;s version. Your row above says whether requests with your key arrive.
      </p>
      <div className="grid gap-4 lg:grid-cols-2">
        {SNIPPETS.map((snippet) => (
          <figure key={snippet.language} className="min-w-0">
            <figcaption className="mb-1 text-xs font-semibold uppercase tracking-wide text-slate-500">{snippet.language}</figcaption>
            <pre className="overflow-x-auto rounded-md bg-slate-900 p-3 text-xs leading-relaxed text-slate-100">
              <code>{snippet.code}</code>
            </pre>
          </figure>
        ))}
      </div>
    </Card>
  );
}
