package dev.apiary.agent.api;

import dev.apiary.agent.api.AccessReview.User;
import dev.apiary.agent.reconcile.NodeReconciler;
import dev.apiary.agent.runtime.ControlClient;
import dev.apiary.agent.runtime.LocalRun;
import dev.apiary.agent.runtime.RunDir;
import dev.apiary.agent.runtime.VmmState;
import dev.apiary.crds.VirtualMachine;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.ServerWebSocket;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import java.io.IOException;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Base64;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The routes of the agent API. Every {@code /v1} request is authenticated (401 without a valid bearer token) and then
 * authorized on the VM it names, before anything is looked up (403, whatever exists): read access needs {@code get}
 * on the VirtualMachine, consoles and guest actions need {@code update}, the list needs {@code list} in each
 * namespace and shows only those namespaces' VMs.
 */
public final class AgentApi {
    private static final org.jboss.logging.Logger LOG = org.jboss.logging.Logger.getLogger(AgentApi.class);
    private final NodeReconciler reconciler;
    private final AccessReview review;
    private final ConsoleHub consoles;

    public AgentApi(Vertx vertx, NodeReconciler reconciler, AccessReview review) {
        this.reconciler = reconciler;
        this.review = review;
        this.consoles = new ConsoleHub(vertx);
    }

    public Router router(Vertx vertx) {
        Router r = Router.router(vertx);
        for (String health : List.of("/healthz", "/q/health/live")) {
            r.get(health).handler(ctx -> json(ctx, 200, new JsonObject().put("status", "UP")));
        }
        // Ready once the VM cache has synced; past the agent's sync timeout DOWN with the reason (403, missing CRD).
        r.get("/q/health/ready").handler(ctx -> {
            String why = reconciler.notSynced();
            if (why == null) json(ctx, 200, new JsonObject().put("status", "UP"));
            else json(ctx, 503, new JsonObject().put("status", "DOWN").put("reason", why));
        });
        r.route("/v1/*").blockingHandler(this::authenticate, false);
        r.get("/v1/vms").blockingHandler(this::list, false);
        r.get("/v1/vms/:ns/:name").blockingHandler(ctx -> vm(ctx, "get", this::describe), false);
        r.get("/v1/vms/:ns/:name/serial").blockingHandler(ctx -> vm(ctx, "get", this::serial), false);
        r.get("/v1/vms/:ns/:name/serial/stream").blockingHandler(ctx -> vm(ctx, "update", this::notUpgraded), false);
        r.get("/v1/vms/:ns/:name/vnc").blockingHandler(ctx -> vm(ctx, "update", this::vncNotUpgraded), false);
        r.get("/v1/vms/:ns/:name/screenshot.png").blockingHandler(ctx -> vm(ctx, "get", this::screenshot), false);
        r.post("/v1/vms/:ns/:name/nmi").blockingHandler(ctx -> vm(ctx, "update", (c, t) -> guest(c, t, "/v1/nmi")), false);
        r.post("/v1/vms/:ns/:name/reset").blockingHandler(ctx -> vm(ctx, "update", (c, t) -> guest(c, t, "/v1/reset")),
                false);
        r.route().failureHandler(ctx -> {
            LOG.warnf(ctx.failure(), "%s %s failed", ctx.request().method(), ctx.request().path());
            if (!ctx.response().ended()) error(ctx, 500, "internal error");
        });
        r.route().last().handler(ctx -> error(ctx, 404, "no such endpoint: " + ctx.request().method() + " "
                + ctx.request().path()));
        return r;
    }

    public void close() {
        consoles.close();
    }

    private void authenticate(RoutingContext ctx) {
        Object who = user(ctx.request().getHeader("Authorization"));
        if (who instanceof Denied d) {
            if (d.status() == 401) ctx.response().putHeader("WWW-Authenticate", "Bearer");
            error(ctx, d.status(), d.message());
            return;
        }
        ctx.put("user", who);
        ctx.next();
    }

    /** Why a request is refused. */
    record Denied(int status, String message) {}

    /**
     * The WebSocket subprotocol that carries a bearer token where a client cannot set headers (browsers: noVNC),
     * as the Kubernetes API server accepts it: {@code base64url.bearer.authorization.k8s.io.<token, base64url>}.
     */
    static final String BEARER_PROTOCOL = "base64url.bearer.authorization.k8s.io.";

    /** An Authorization header value from the WebSocket's headers: the header itself, else the bearer subprotocol. */
    static String webSocketAuthorization(String header, String protocols) {
        if (header != null || protocols == null) return header;
        for (String p : protocols.split(",")) {
            p = p.trim();
            if (p.startsWith(BEARER_PROTOCOL)) {
                try {
                    return "Bearer " + new String(Base64.getUrlDecoder().decode(
                            p.substring(BEARER_PROTOCOL.length())), StandardCharsets.UTF_8);
                } catch (IllegalArgumentException e) {
                    return null;
                }
            }
        }
        return null;
    }

    /** The caller of an Authorization header: a {@link User}, or {@link Denied} (401, or 503 when nobody can say). */
    private Object user(String h) {
        if (h == null || !h.regionMatches(true, 0, "Bearer ", 0, 7) || h.substring(7).isBlank()) {
            return new Denied(401, "a bearer token is required (kubectl vm sends the one from your kubeconfig)");
        }
        try {
            User u = review.authenticate(h.substring(7).trim());
            return u != null ? u : new Denied(401, "the bearer token was not accepted by the API server (TokenReview)");
        } catch (AccessReview.ReviewUnavailable e) {
            return new Denied(503, e.getMessage());
        }
    }

    /** A VM of this node, for a handler, once the caller may {@code verb} it. */
    interface VmHandler {
        void handle(RoutingContext ctx, Target t) throws IOException;
    }

    /** The VM as the cache shows it and its runtime directory (null when it never ran here). */
    record Target(String namespace, String name, VirtualMachine vm, LocalRun run) {}

    private void vm(RoutingContext ctx, String verb, VmHandler h) {
        Object t = target(ctx.get("user"), verb, ctx.pathParam("ns"), ctx.pathParam("name"));
        if (t instanceof Denied d) {
            error(ctx, d.status(), d.message());
            return;
        }
        try {
            h.handle(ctx, (Target) t);
        } catch (IOException e) {
            error(ctx, 500, e.getMessage());
        }
    }

    /**
     * The VM {@code ns/name} of this node once {@code u} may {@code verb} it: a {@link Target}, or {@link Denied}
     * (403 before anything is looked up, so a caller learns nothing of VMs it may not see; then 404).
     */
    private Object target(User u, String verb, String ns, String name) {
        try {
            if (!review.allowed(u, verb, ns, name)) {
                return new Denied(403, "forbidden: " + u.name() + " may not " + verb + " virtualmachines " + ns + "/"
                        + name);
            }
        } catch (AccessReview.ReviewUnavailable e) {
            return new Denied(503, e.getMessage());
        }
        VirtualMachine vm = reconciler.cachedVm(ns, name);
        LocalRun run;
        if (vm != null) {
            run = reconciler.localRuns().stream().filter(r -> r.uid().equals(vm.getMetadata().getUid())).findFirst()
                    .orElse(null);
        } else {
            run = reconciler.localRuns().stream().filter(r -> r.id().namespace().equals(ns) && r.id().name().equals(name))
                    .findFirst().orElse(null);
        }
        boolean here = vm != null && vm.getStatus() != null && reconciler.node().equals(vm.getStatus().nodeName);
        if (!here && run == null) return new Denied(404, "VM " + ns + "/" + name + " is not on node " + reconciler.node());
        return new Target(ns, name, vm, run);
    }

    private static final java.util.regex.Pattern WS_PATH =
            java.util.regex.Pattern.compile("/v1/vms/([^/]+)/([^/]+)/(serial/stream|vnc)");

    /**
     * WebSocket upgrades (the console and VNC): checked like every request, with the answer as the handshake status
     * (401, 403, 404, 409) since a refused upgrade has no body; {@code GET /v1/vms/NS/NAME} says why in words.
     */
    public void webSocket(Vertx vertx, ServerWebSocket ws) {
        java.util.regex.Matcher m = WS_PATH.matcher(ws.path());
        if (!m.matches()) {
            ws.reject(404);
            return;
        }
        io.vertx.core.Promise<Integer> handshake = io.vertx.core.Promise.promise();
        ws.setHandshake(handshake.future());
        String ns = m.group(1);
        String name = m.group(2);
        boolean vnc = m.group(3).equals("vnc");
        String query = ws.query();
        vertx.executeBlocking(() -> {
            Object who = user(webSocketAuthorization(ws.headers().get("Authorization"),
                    ws.headers().get("Sec-WebSocket-Protocol")));
            if (who instanceof Denied d) return d;
            Object t = target((User) who, "update", ns, name);
            if (t instanceof Denied d) return d;
            Target target = (Target) t;
            if (vnc) return vncStart(target);
            if (target.run() == null || !target.run().alive()) return new Denied(409, "not running");
            return consoleStart(target.run().dir(), query);
        }, false).onComplete(ar -> {
            if (ar.failed()) {
                handshake.complete(500);
            } else if (ar.result() instanceof Denied d) {
                handshake.complete(d.status());
            } else if (ar.result() instanceof VncStart v) {
                handshake.complete(101);
                VncBridge.start(ws, v.socket(), ns + "/" + name);
            } else {
                ConsoleStart c = (ConsoleStart) ar.result();
                handshake.complete(101);
                consoles.attach(c.dir(), ws, c.offset());
            }
        });
    }

    record VncStart(SocketChannel socket) {}

    /** The VMM's VNC socket connected, or why not: 409 without a (VNC) display, 503 when the VMM does not answer. */
    private static Object vncStart(Target t) {
        Denied no = displayMissing(t);
        if (no != null) return no;
        Path sock = t.run().dir().file(RunDir.VNC_SOCKET);
        if (!Files.exists(sock)) {
            return new Denied(409, "the display of VM " + t.namespace() + "/" + t.name() + " has no VNC"
                    + " (spec.display.vnc is not true)");
        }
        try {
            return new VncStart(VncBridge.connect(sock));
        } catch (IOException e) {
            return new Denied(503, "the VMM of " + t.namespace() + "/" + t.name() + " does not answer on its VNC"
                    + " socket (" + e.getMessage() + ")");
        }
    }

    /** Why {@code t} has no screen to show (409), or null. */
    private static Denied displayMissing(Target t) {
        if (t.run() == null || !t.run().alive()) {
            return new Denied(409, "VM " + t.namespace() + "/" + t.name() + " is not running: no screen to show");
        }
        if (t.run().state() == null || !t.run().state().hasDisplay()) {
            return new Denied(409, "this VM has no display (spec.display)");
        }
        return null;
    }

    record ConsoleStart(RunDir dir, long offset) {}

    /** Where a console stream starts: {@code from} (clamped), else the newest {@code tail} bytes (default none). */
    private static Object consoleStart(RunDir dir, String query) throws IOException {
        Long from = null;
        Integer tail = null;
        if (query != null) {
            for (String kv : query.split("&")) {
                int eq = kv.indexOf('=');
                if (eq < 0) continue;
                try {
                    if (kv.startsWith("from=")) from = Long.parseLong(kv.substring(eq + 1));
                    if (kv.startsWith("tail=")) tail = Integer.parseInt(kv.substring(eq + 1));
                } catch (NumberFormatException e) {
                    return new Denied(400, "from and tail are whole numbers");
                }
            }
        }
        SerialHistory.Chunk now = SerialHistory.read(dir, null, 0, 0);
        long end = now.end();
        long start = from != null ? Math.max(now.start(), Math.min(from, end))
                : Math.max(now.start(), end - (tail == null ? 0 : tail));
        return new ConsoleStart(dir, start);
    }

    private void list(RoutingContext ctx) {
        User u = ctx.get("user");
        Map<String, Boolean> mayList = new HashMap<>();
        JsonArray items = new JsonArray();
        List<LocalRun> runs = reconciler.localRuns();
        try {
            for (VirtualMachine vm : reconciler.cachedVms()) {
                if (vm.getStatus() == null || !reconciler.node().equals(vm.getStatus().nodeName)) continue;
                String ns = vm.getMetadata().getNamespace();
                if (!mayList.computeIfAbsent(ns, n -> review.allowed(u, "list", n, null))) continue;
                LocalRun run = runs.stream().filter(r -> r.uid().equals(vm.getMetadata().getUid())).findFirst()
                        .orElse(null);
                items.add(summary(new Target(ns, vm.getMetadata().getName(), vm, run)));
            }
        } catch (AccessReview.ReviewUnavailable e) {
            error(ctx, 503, e.getMessage());
            return;
        }
        json(ctx, 200, new JsonObject().put("node", reconciler.node()).put("items", items));
    }

    private void describe(RoutingContext ctx, Target t) {
        json(ctx, 200, summary(t));
    }

    private JsonObject summary(Target t) {
        JsonObject o = new JsonObject().put("namespace", t.namespace()).put("name", t.name())
                .put("node", reconciler.node());
        if (t.vm() != null && t.vm().getStatus() != null) {
            var st = t.vm().getStatus();
            o.put("uid", t.vm().getMetadata().getUid());
            o.put("phase", st.phase == null ? null : st.phase.name());
            o.put("runId", st.runId);
            o.put("desiredState", st.desiredState == null ? null : st.desiredState.name());
        }
        if (t.run() != null) {
            LocalRun r = t.run();
            JsonObject vmm = new JsonObject().put("runId", r.runId()).put("pid", r.pid()).put("alive", r.alive());
            VmmState s = r.state();
            if (s != null) {
                vmm.put("phase", s.phase()).put("startedAt", s.startedAt()).put("bootMillis", s.bootMillis())
                        .put("boots", s.boots()).put("vcpus", s.vcpus()).put("memoryBytes", s.memoryBytes())
                        .put("devices", s.devices() == null ? null : new JsonArray(s.devices()))
                        .put("fullGuests", s.fullGuests()).put("accelerator", s.accelerator());
            }
            if (r.exit() != null) {
                vmm.put("exit", new JsonObject().put("code", r.exit().code()).put("reason", r.exit().reason())
                        .put("message", r.exit().message()).put("at", r.exit().at()));
            }
            vmm.put("serial", new JsonObject().put("start", r.dir().serialStart()));
            o.put("vmm", vmm);
        }
        return o;
    }

    private void serial(RoutingContext ctx, Target t) throws IOException {
        if (t.run() == null) {
            error(ctx, 404, "VM " + t.namespace() + "/" + t.name() + " has not run on node " + reconciler.node()
                    + " yet: no serial history");
            return;
        }
        HttpServerRequest q = ctx.request();
        Long from;
        Integer max;
        Integer tail;
        try {
            from = longParam(q, "from");
            max = intParam(q, "maxBytes");
            tail = intParam(q, "tail");
        } catch (NumberFormatException e) {
            error(ctx, 400, "from, maxBytes and tail are whole numbers");
            return;
        }
        SerialHistory.Chunk c = SerialHistory.read(t.run().dir(), from, max, tail);
        ctx.response().setStatusCode(200).putHeader("Content-Type", "application/octet-stream")
                .putHeader("X-Serial-Start", Long.toString(c.start()))
                .putHeader("X-Serial-Offset", Long.toString(c.offset()))
                .putHeader("X-Serial-Next", Long.toString(c.next()))
                .putHeader("X-Serial-End", Long.toString(c.end()))
                .putHeader("X-Run-Id", Long.toString(t.run().runId()))
                .putHeader("X-Vmm-Alive", Boolean.toString(t.run().alive()))
                .end(io.vertx.core.buffer.Buffer.buffer(c.bytes()));
    }

    private void notUpgraded(RoutingContext ctx, Target t) {
        if (t.run() == null || !t.run().alive()) {
            error(ctx, 409, "VM " + t.namespace() + "/" + t.name() + " is not running: no console (its serial"
                    + " history is at /serial)");
            return;
        }
        error(ctx, 400, "the console is a WebSocket: connect with Upgrade: websocket");
    }

    private void vncNotUpgraded(RoutingContext ctx, Target t) {
        Denied no = displayMissing(t);
        if (no != null) {
            error(ctx, no.status(), no.message());
            return;
        }
        error(ctx, 400, "VNC is a WebSocket carrying RFB: connect with Upgrade: websocket (subprotocol binary)");
    }

    /** The screen as PNG, from the VMM's control socket. */
    private void screenshot(RoutingContext ctx, Target t) {
        Denied no = displayMissing(t);
        if (no != null) {
            error(ctx, no.status(), no.message());
            return;
        }
        ControlClient.Binary r;
        try {
            r = ControlClient.getBinary(t.run().dir().file(RunDir.CONTROL), "/v1/screenshot.png");
        } catch (IOException e) {
            error(ctx, 503, "the VMM of " + t.namespace() + "/" + t.name() + " does not answer on its control socket"
                    + " (" + e.getMessage() + ")");
            return;
        }
        if (r.status() == 409) {
            error(ctx, 409, "this VM has no display (spec.display)");
        } else if (!r.ok() || !"image/png".equals(r.contentType())) {
            error(ctx, 502, "the VMM answered " + r.status() + " to the screenshot request");
        } else {
            ctx.response().setStatusCode(200).putHeader("Content-Type", "image/png")
                    .putHeader("Cache-Control", "no-store")
                    .end(Buffer.buffer(r.body()));
        }
    }

    private void guest(RoutingContext ctx, Target t, String path) throws IOException {
        if (t.run() == null || !t.run().alive()) {
            error(ctx, 409, "VM " + t.namespace() + "/" + t.name() + " is not running");
            return;
        }
        ControlClient.Response r;
        try {
            r = ControlClient.post(t.run().dir().file(RunDir.CONTROL), path);
        } catch (IOException e) {
            error(ctx, 503, "the VMM of " + t.namespace() + "/" + t.name() + " does not answer on its control socket"
                    + " (" + e.getMessage() + ")");
            return;
        }
        if (r.ok()) json(ctx, 202, new JsonObject().put("accepted", path.substring(4)));
        else error(ctx, 502, "the VMM answered " + r.status() + ": " + r.body().strip());
    }

    private static Long longParam(HttpServerRequest q, String name) {
        return Optional.ofNullable(q.getParam(name)).map(Long::parseLong).orElse(null);
    }

    private static Integer intParam(HttpServerRequest q, String name) {
        return Optional.ofNullable(q.getParam(name)).map(Integer::parseInt).orElse(null);
    }

    static void json(RoutingContext ctx, int status, JsonObject body) {
        if (ctx.response().ended()) return;
        ctx.response().setStatusCode(status).putHeader("Content-Type", "application/json").end(body.encode());
    }

    static void error(RoutingContext ctx, int status, String message) {
        json(ctx, status, new JsonObject().put("error", message));
    }
}
