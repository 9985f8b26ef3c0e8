package org.jitgate.ranger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;

import java.util.Arrays;
import java.util.Map;
import org.junit.jupiter.api.Test;

class PluginSettingsTest {
    @Test
    void pluginFileWinsOverEvaluatorOptions() {
        PluginSettings s = PluginSettings.of("hdfs", Map.of(
                "jitgate.service.url", "http://jitgate.example:8470",
                "jitgate.host", "from-the-service-definition",
                "other.key", "ignored"));
        assertEquals("jitgate_hdfs", s.serviceName, "ranger.plugin.hdfs.service.name of ranger-hdfs-security.xml");
        assertEquals("nn1.test", s.engine.get("jitgate.host"), "ranger-hdfs-security.xml wins");
        assertEquals("http://jitgate.example:8470", s.engine.get("jitgate.service.url"));
        assertEquals("ranger-hdfs", s.engine.get("jitgate.plugin"));
        assertFalse(s.engine.containsKey("other.key"));
    }

    @Test
    void rangerAdminNeverOverridesWhatTheHostsSiteFileSets() {
        PluginSettings s = PluginSettings.load("hive", Map.of(
                "jitgate.service.url", "http://elsewhere.example:8470",
                "jitgate.cache.dir", "/tmp/from-ranger-admin",
                "jitgate.fallback.zones", "",
                "jitgate.request.url", "https://jitgate.example/request"), "host-site-for-test.xml");
        assertEquals("https://jitgate.host-configured:8470", s.engine.get("jitgate.service.url"));
        assertEquals("/var/lib/jitgate-host", s.engine.get("jitgate.cache.dir"));
        assertEquals("hive:sales.*", s.engine.get("jitgate.fallback.zones"));
        assertEquals("https://jitgate.example/request", s.engine.get("jitgate.request.url"),
                "what the host leaves unset comes from Ranger Admin");
        assertEquals("hdfs-site.xml", PluginSettings.siteFile("hdfs"));
        assertEquals("hive-site.xml", PluginSettings.siteFile("hive"));
    }

    @Test
    void withoutAPluginFileTheOptionsAndDefaultsApply() {
        PluginSettings s = PluginSettings.of("kafka", Map.of("jitgate.service.url", "http://jitgate.example:8470"));
        assertNull(s.serviceName);
        assertEquals("http://jitgate.example:8470", s.engine.get("jitgate.service.url"));
        assertEquals("ranger-kafka", s.engine.get("jitgate.plugin"));
    }

    @Test
    void auditContextNamesServiceAndPolicy() {
        assertEquals("ranger.service=cl1_hadoop ranger.policy.id=42",
                JitGateConditionEvaluator.contextPrefix("cl1_hadoop", Arrays.asList(null, " 42 ")));
        assertEquals("ranger.policy.id=a_b", JitGateConditionEvaluator.contextPrefix(null, Arrays.asList("a b")));
        assertEquals("ranger.service=cl1_hadoop", JitGateConditionEvaluator.contextPrefix("cl1_hadoop", null));
    }
}
