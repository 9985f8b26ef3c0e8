package org.jitgate;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.UnknownHostException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** How every plugin reads its jitgate.* keys, and how a bad set of them fails. */
class PluginConfigTest {
    @TempDir
    Path cache;

    @Test
    void jitgateKeysAreReadAndTheEnginesOthersLeft() {
        Map<String, String> conf = new LinkedHashMap<>();
        conf.put("jitgate.service.url", "http://jitgate.example:8470");
        conf.put("jitgate.hive.fallback", "deny");
        conf.put("dfs.replication", "3");
        conf.put("spark.jitgate.cache.dir", "/only/for/spark");
        Map<String, String> keys = PluginConfig.read("hdfs", conf).keys();
        assertEquals(List.of("jitgate.hive.fallback", "jitgate.host", "jitgate.plugin", "jitgate.service.url"),
                List.copyOf(keys.keySet()));
        assertEquals("http://jitgate.example:8470", keys.get("jitgate.service.url"));
        assertEquals("hdfs", keys.get("jitgate.plugin"));
    }

    @Test
    void valuesComeFromTheEnginesLookup() {
        Map<String, String> raw = Map.of("jitgate.cache.dir", "${hadoop.tmp.dir}/jitgate");
        Map<String, String> keys = PluginConfig.read("hdfs", raw.entrySet(),
                key -> raw.get(key).replace("${hadoop.tmp.dir}", "/var/tmp")).keys();
        assertEquals("/var/tmp/jitgate", keys.get("jitgate.cache.dir"));
    }

    @Test
    void anEnginesPrefixedKeyWinsOverThePlainOne() {
        Map<String, String> keys = PluginConfig.read("spark", "spark.", Map.of(
                "jitgate.cache.dir", "/plain",
                "spark.jitgate.cache.dir", "/prefixed",
                "jitgate.request.url", "https://jitgate.example",
                "spark.sql.shuffle.partitions", "4")).keys();
        assertEquals("/prefixed", keys.get("jitgate.cache.dir"));
        assertEquals("https://jitgate.example", keys.get("jitgate.request.url"));
        assertFalse(keys.containsKey("spark.sql.shuffle.partitions"));
        assertEquals("spark", keys.get("jitgate.plugin"));
    }

    @Test
    void aSecondSourceWinsWhereBothSetAKey() {
        Map<String, String> host = Map.of("jitgate.cache.dir", "/var/lib/jitgate", "jitgate.plugin", "ranger-hive");
        Map<String, String> keys = PluginConfig.read("ranger-hdfs", Map.of(
                        "jitgate.cache.dir", "/tmp/from-admin",
                        "jitgate.request.url", "https://jitgate.example"))
                .with(host.entrySet(), host::get).keys();
        assertEquals("/var/lib/jitgate", keys.get("jitgate.cache.dir"));
        assertEquals("https://jitgate.example", keys.get("jitgate.request.url"));
        assertEquals("ranger-hive", keys.get("jitgate.plugin"), "a plugin name set anywhere beats the default");
    }

    @Test
    void hostIsTheConfiguredOneElseTheMachinesName() {
        assertEquals("nn1.example", PluginConfig.read("hdfs", Map.of("jitgate.host", "nn1.example"))
                .keys().get("jitgate.host"));
        assertEquals(PluginConfig.hostName(), PluginConfig.read("hdfs", Map.of()).keys().get("jitgate.host"));
        assertEquals("resolved", PluginConfig.hostName(() -> "resolved", "from-env"));
        assertEquals("from-env", PluginConfig.hostName(() -> {
            throw new UnknownHostException("no DNS");
        }, "from-env"));
        assertEquals("localhost", PluginConfig.hostName(() -> {
            throw new UnknownHostException("no DNS");
        }, ""));
        assertEquals("localhost", PluginConfig.hostName(() -> {
            throw new UnknownHostException("no DNS");
        }, null));
    }

    @Test
    void aServiceWithoutItsPublicKeyIsRefusedNamingTheMissingKey() {
        PluginConfig config = PluginConfig.read("hdfs", Map.of(
                "jitgate.service.url", "http://127.0.0.1:1",
                "jitgate.cache.dir", cache.toString()));
        JitGate.closeShared();
        IllegalStateException e = assertThrows(IllegalStateException.class, config::shared);
        assertTrue(e.getMessage().contains("jitgate.service.public.key"), e.getMessage());
    }

    @Test
    void aMisspelledKeyIsRefusedByName() {
        PluginConfig config = PluginConfig.read("hive", Map.of("jitgate.cache.dri", cache.toString()));
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> JitGate.open(config.keys()));
        assertTrue(e.getMessage().contains("jitgate.cache.dri"), e.getMessage());
    }
}
