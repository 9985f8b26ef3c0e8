package org.jitgate.hive;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.List;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.hive.conf.HiveConf;
import org.apache.hadoop.hive.ql.security.HiveAuthenticationProvider;
import org.apache.hadoop.hive.ql.security.authorization.plugin.HiveAccessControlException;
import org.apache.hadoop.hive.ql.security.authorization.plugin.HiveAuthzPluginException;
import org.apache.hadoop.hive.ql.security.authorization.plugin.HiveOperationType;
import org.apache.hadoop.hive.ql.security.authorization.plugin.HivePrivilegeObject;
import org.apache.hadoop.hive.ql.security.authorization.plugin.HivePrivilegeObject.HivePrivilegeObjectType;
import org.apache.hadoop.hive.ql.session.ISessionAuthState;
import org.jitgate.JitGate;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The authorizer's own behaviour, without a HiveServer2 (see JitGateHiveTest for the real one). */
class JitGateAuthorizerTest {
    @Test
    void audit_context_is_the_query_id_and_the_commands_sha256() throws Exception {
        assertEquals("hive.query.id=q1 command.sha256="
                        + "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
                JitGateAuthorizer.context("q1", "abc"));
        assertEquals("hive.query.id=- command.sha256=-", JitGateAuthorizer.context(null, null));
    }

    /** A listed jar directory covers what lies below it, not a sibling that shares its prefix. */
    @Test
    void a_listed_jar_location_covers_only_what_lies_below_it() {
        assertTrue(JitGateAuthorizer.covers("hdfs:/jars", "hdfs:/jars/udf.jar"));
        assertTrue(JitGateAuthorizer.covers("hdfs:/jars/", "hdfs:/jars/udf.jar"));
        assertTrue(JitGateAuthorizer.covers("hdfs:/jars/udf.jar", "hdfs:/jars/udf.jar"));
        assertFalse(JitGateAuthorizer.covers("hdfs:/jars", "hdfs:/jarsevil/udf.jar"));
        assertFalse(JitGateAuthorizer.covers("hdfs:/jars/udf.jar", "hdfs:/jars/udf.jar.evil"));
    }

    @Test
    void a_fallback_other_than_allow_or_deny_is_refused() {
        HiveConf conf = new HiveConf();
        conf.set(JitGateAuthorizer.FALLBACK_KEY, "maybe");
        assertThrows(HiveAuthzPluginException.class, () -> new JitGateAuthorizer(conf, null));
    }

    @Test
    void grants_and_roles_are_the_services_business() throws Exception {
        JitGateAuthorizer authorizer = new JitGateAuthorizer(new HiveConf(), null);
        HiveAuthzPluginException e = assertThrows(HiveAuthzPluginException.class,
                () -> authorizer.createRole("analysts", null));
        assertEquals("not supported by jitgate; use the jitgate service", e.getMessage());
        assertThrows(HiveAuthzPluginException.class, () -> authorizer.grantPrivileges(null, null, null, null, false));
        assertThrows(HiveAuthzPluginException.class, authorizer::getAllRoles);
        assertEquals(List.of(), authorizer.getCurrentRoleNames());
    }

    @Test
    void a_failing_check_denies() throws Exception {
        JitGateAuthorizer authorizer = new JitGateAuthorizer(new HiveConf(), user("gina"), name -> {
            throw new IllegalStateException("table unavailable");
        });
        HivePrivilegeObject orders = new HivePrivilegeObject(HivePrivilegeObjectType.TABLE_OR_VIEW, "open", "t");
        HiveAccessControlException e = assertThrows(HiveAccessControlException.class,
                () -> authorizer.checkPrivileges(HiveOperationType.QUERY, List.of(orders), List.of(), null));
        assertEquals("jitgate: denied QUERY for gina because the check failed:"
                + " java.lang.IllegalStateException: table unavailable", e.getMessage());
    }

    @Test
    void the_admins_set_allow_list_is_regular_expressions_checked_up_front() throws Exception {
        assertEquals("", JitGateAuthorizer.allowList(" , "));
        assertEquals("(team\\.etl\\..*)|(mapreduce\\.job\\.queuename)",
                JitGateAuthorizer.allowList("team\\.etl\\..*, mapreduce\\.job\\.queuename"));
        HiveAuthzPluginException bad = assertThrows(HiveAuthzPluginException.class,
                () -> JitGateAuthorizer.allowList("team\\.(etl"));
        assertTrue(bad.getMessage().contains("jitgate.hive.set.allow") && bad.getMessage().contains("team\\.(etl"),
                bad.getMessage());
    }

    /** An engine whose (cached, verified) snapshot has no zone: everything is outside. */
    @Test
    void fallback_deny_refuses_what_no_zone_covers_and_allow_lets_it_run(@TempDir Path dir) throws Exception {
        HiveConf conf = new HiveConf();
        conf.set("jitgate.cache.dir", dir.resolve("cache").toString());
        conf.set(JitGate.PUBLIC_KEY, JitGate.writeSnapshot(dir.resolve("cache"),
                "{\"cursor\":1,\"server_time\":\"2026-12-05T00:00:00Z\","
                + "\"reset\":true,\"zones\":[],\"grants\":[],\"revoked\":[]}"));
        HivePrivilegeObject notes = new HivePrivilegeObject(HivePrivilegeObjectType.TABLE_OR_VIEW, "open", "notes");
        try {
            new JitGateAuthorizer(conf, user("gina")).checkPrivileges(HiveOperationType.QUERY, List.of(notes),
                    List.of(), null);

            conf.set(JitGateAuthorizer.FALLBACK_KEY, "deny");
            JitGateAuthorizer strict = new JitGateAuthorizer(conf, user("gina"));
            HiveAccessControlException e = assertThrows(HiveAccessControlException.class,
                    () -> strict.checkPrivileges(HiveOperationType.QUERY, List.of(notes), List.of(), null));
            assertEquals("jitgate: gina may not run QUERY on hive:open.notes: it is in no jitgate zone, and this"
                    + " HiveServer2 denies what no zone covers (jitgate.hive.fallback=deny)", e.getMessage());
            // Statements that touch no object are not refused.
            strict.checkPrivileges(HiveOperationType.SHOWDATABASES, List.of(), List.of(), null);
        } finally {
            JitGate.shared(java.util.Map.of()).close();
        }
    }

    private static HiveAuthenticationProvider user(String name) {
        return new HiveAuthenticationProvider() {
            @Override
            public String getUserName() {
                return name;
            }

            @Override
            public List<String> getGroupNames() {
                return List.of();
            }

            @Override
            public void destroy() {
            }

            @Override
            public void setSessionState(ISessionAuthState state) {
            }

            @Override
            public void setConf(Configuration c) {
            }

            @Override
            public Configuration getConf() {
                return null;
            }
        };
    }
}
