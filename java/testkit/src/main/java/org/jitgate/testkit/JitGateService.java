package org.jitgate.testkit;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.UUID;
import java.util.function.Supplier;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.extension.TestWatcher;

/**
 * A real {@code jitgate serve} process for one test class, and its HTTP API acted on as a user
 * (trusted headers, as behind an SSO proxy) or as a plugin (bearer token). The binary comes from the
 * {@code jitgate.bin} system property, which the parent POM sets for every module's tests.
 */
public final class JitGateService implements AutoCloseable {
    public static final String BIN_PROPERTY = "jitgate.bin";

    /** The zone every test starts with: HDFS {@code /lake/sales} and Hive database {@code sales}. */
    public static final String SALES_ZONE = String.join("\n",
            "[[zones]]",
            "name = \"sales\"",
            "resources = [\"hdfs:/lake/sales\", \"hive:sales.*\"]",
            "approvers = [\"sales-owners\"]",
            "approvals = 1",
            "actions = [\"read\", \"write\", \"export\", \"transform\"]",
            "max_duration = \"15m\"",
            "");
    /** Appended to the zones: approvers learn what hdfs: and hive: resources are from the plugins. */
    public static final String PLUGIN_CONTEXT = String.join("\n",
            "[context]",
            "hdfs = \"plugin\"",
            "hive = \"plugin\"",
            "");
    private static final ObjectMapper JSON = new ObjectMapper();

    private final Path dir;
    private final Path log;
    private final Path tokensFile;
    private final String token;
    private final String url;
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    private Process process;

    /** Starts the service with {@link #SALES_ZONE} and waits until its feed answers. */
    public static JitGateService start(Path dir) throws Exception {
        return start(dir, SALES_ZONE);
    }

    /** Starts the service with {@code zones} ({@code [[zones]]} TOML tables) and waits until its feed answers. */
    public static JitGateService start(Path dir, String zones) throws Exception {
        JitGateService service = new JitGateService(dir, zones);
        service.launch();
        return service;
    }

    private JitGateService(Path dir, String zones) throws IOException {
        this.dir = dir;
        this.log = dir.resolve("jitgate-serve.log");
        this.tokensFile = dir.resolve("tokens");
        this.token = UUID.randomUUID().toString();
        int port = freePort();
        this.url = "http://127.0.0.1:" + port;
        Files.writeString(tokensFile, token + "\n");
        Files.writeString(dir.resolve("jitgate.toml"), String.join("\n",
                "listen = \"127.0.0.1:" + port + "\"",
                "data_dir = \"" + dir.resolve("data") + "\"",
                "public_url = \"" + url + "\"",
                "",
                "[auth]",
                "mode = \"trusted-header\"",
                "",
                "[plugins]",
                "tokens_file = \"" + tokensFile + "\"",
                "",
                zones));
    }

    private void launch() throws Exception {
        String bin = System.getProperty(BIN_PROPERTY);
        if (bin == null || !Files.isExecutable(Path.of(bin))) {
            throw new IllegalStateException("the jitgate binary is missing: " + bin
                    + " (build it with `cargo build --release` at the repository root, or set -D"
                    + BIN_PROPERTY + "=PATH)");
        }
        // The key plugins pin, as an admin would take it: printed by the binary, before the first start.
        Process print = new ProcessBuilder(bin, "serve", "--print-public-key", "--data", dir.resolve("data").toString())
                .redirectErrorStream(true)
                .redirectOutput(publicKeyFile().toFile())
                .start();
        if (print.waitFor() != 0) {
            throw new IllegalStateException("jitgate serve --print-public-key failed: "
                    + Files.readString(publicKeyFile()));
        }
        process = new ProcessBuilder(bin, "serve", "--config", dir.resolve("jitgate.toml").toString())
                .directory(dir.toFile())
                .redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()))
                .start();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (true) {
            if (!process.isAlive()) {
                throw new IllegalStateException("jitgate serve exited with " + process.exitValue()
                        + "; its output:\n" + log());
            }
            try {
                HttpResponse<String> feed = send(HttpRequest.newBuilder(URI.create(url + "/v1/feed?wait=0"))
                        .header("Authorization", "Bearer " + token).GET());
                if (feed.statusCode() == 200) {
                    return;
                }
            } catch (IOException notYet) {
                // not listening yet
            }
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException("jitgate serve did not answer GET /v1/feed within 30 s;"
                        + " its output:\n" + log());
            }
            Thread.sleep(100);
        }
    }

    public String url() {
        return url;
    }

    public Path tokensFile() {
        return tokensFile;
    }

    /** The file holding the service's public key, for {@code jitgate.service.public.key.file}. */
    public Path publicKeyFile() {
        return dir.resolve("service.pub");
    }

    /** Files a request as {@code user}; returns its id. */
    public String request(String user, String resource, String action, String duration, String reason)
            throws Exception {
        return request(user, List.of(resource), List.of(action), duration, reason, false);
    }

    /** Files a request as {@code user} for several resources and actions, optionally single-use; returns its id. */
    public String request(String user, List<String> resources, List<String> actions, String duration,
                          String reason, boolean singleUse) throws Exception {
        ObjectNode body = JSON.createObjectNode();
        resources.forEach(body.putArray("resources")::add);
        actions.forEach(body.putArray("actions")::add);
        body.put("duration", duration);
        body.put("reason", reason);
        body.put("single_use", singleUse);
        JsonNode created = call(201, "POST", "/v1/requests", user, null, body);
        if (!"pending".equals(created.path("status").asText())) {
            throw new AssertionError("a new request should be pending: " + created);
        }
        return created.path("id").asText();
    }

    /** Approves as {@code approver} of {@code group}; returns the request with its grant. */
    public JsonNode approve(String requestId, String approver, String group) throws Exception {
        ObjectNode body = JSON.createObjectNode().put("comment", "ok");
        JsonNode approved = call(200, "POST", "/v1/requests/" + requestId + "/approve", approver, group, body);
        if (!"approved".equals(approved.path("status").asText()) || !approved.path("grant").has("id")) {
            throw new AssertionError("one approval should approve the request and issue a grant: " + approved);
        }
        return approved;
    }

    /**
     * Files, approves ({@code carol} of {@code sales-owners}) and returns the grant id: the grant is
     * in the feed when this returns, plugins see it within their feed's long-poll round trip.
     */
    public String grant(String user, List<String> resources, List<String> actions, String duration,
                        boolean singleUse) throws Exception {
        String id = request(user, resources, actions, duration, "test", singleUse);
        return approve(id, "carol", "sales-owners").path("grant").path("id").asText();
    }

    public void revoke(String grantId, String approver, String group) throws Exception {
        call(200, "POST", "/v1/grants/" + grantId + "/revoke", approver, group, JSON.createObjectNode());
    }

    /** The audit events of {@code user}, read as {@code reader}. */
    public JsonNode audit(String user, String reader, String group) throws Exception {
        return call(200, "GET", "/v1/audit?user=" + user, reader, group, null).path("events");
    }

    /** What the resources of a request are ({@code GET /v1/requests/{id}/context}), read as {@code reader}. */
    public JsonNode context(String requestId, String reader, String group, int expected) throws Exception {
        return call(expected, "GET", "/v1/requests/" + requestId + "/context", reader, group, null);
    }

    /**
     * The context of each of a request's resources once each is answered, a failure only by an
     * answer since the request was filed (which asks again after a failure, but takes a recent
     * answer as it is), read as {@code carol} of {@code sales-owners}; fails after {@code wait}.
     */
    public JsonNode awaitContext(String requestId, Duration wait) throws Exception {
        Instant filed = Instant.parse(call(200, "GET", "/v1/requests/" + requestId, "carol", "sales-owners", null)
                .path("created_at").asText());
        long end = System.nanoTime() + wait.toNanos();
        while (true) {
            JsonNode resources = context(requestId, "carol", "sales-owners", 200).path("resources");
            boolean answered = true;
            for (JsonNode r : resources) {
                answered &= r.has("as_of") && !("failed".equals(r.path("state").asText())
                        && Instant.parse(r.path("as_of").asText()).isBefore(filed));
            }
            if (answered) {
                return resources;
            }
            if (System.nanoTime() > end) {
                throw new AssertionError("no answer for the context of " + requestId + " within " + wait + ": "
                        + resources);
            }
            Thread.sleep(200);
        }
    }

    private JsonNode call(int expected, String method, String path, String user, String groups,
                          JsonNode body) throws Exception {
        HttpRequest.Builder req = HttpRequest.newBuilder(URI.create(url + path))
                .timeout(Duration.ofSeconds(10))
                .header("X-Forwarded-User", user);
        if (groups != null) {
            req.header("X-Forwarded-Groups", groups);
        }
        if (body == null) {
            req.GET();
        } else {
            req.header("Content-Type", "application/json")
                    .method(method, HttpRequest.BodyPublishers.ofString(JSON.writeValueAsString(body)));
        }
        HttpResponse<String> resp = send(req);
        if (resp.statusCode() != expected) {
            throw new AssertionError(method + " " + path + " as " + user + ": expected " + expected
                    + ", got " + resp.statusCode() + " " + resp.body());
        }
        return JSON.readTree(resp.body());
    }

    private HttpResponse<String> send(HttpRequest.Builder req) throws IOException, InterruptedException {
        return http.send(req.build(), HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8));
    }

    /**
     * For {@code @RegisterExtension}: prints the service's output when a test fails, so a failure
     * on a CI machine shows what the service saw.
     */
    public static TestWatcher logOnFailure(Supplier<JitGateService> service) {
        return new TestWatcher() {
            @Override
            public void testFailed(ExtensionContext context, Throwable cause) {
                JitGateService s = service.get();
                if (s != null) {
                    System.err.println("---- jitgate serve output (" + context.getDisplayName() + " failed) ----\n"
                            + s.log() + "---- end of jitgate serve output ----");
                }
            }
        };
    }

    /** Everything the process printed so far. */
    public String log() {
        try {
            return Files.exists(log) ? Files.readString(log) : "(no output)";
        } catch (IOException e) {
            return "(cannot read " + log + ": " + e + ")";
        }
    }

    /** Stops the process (SIGTERM, then SIGKILL after 10 s). */
    @Override
    public void close() throws InterruptedException {
        if (process != null && process.isAlive()) {
            process.destroy();
            if (!process.waitFor(10, TimeUnit.SECONDS)) {
                process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
            }
        }
    }

    private static int freePort() throws IOException {
        try (ServerSocket socket = new ServerSocket(0)) {
            return socket.getLocalPort();
        }
    }
}
