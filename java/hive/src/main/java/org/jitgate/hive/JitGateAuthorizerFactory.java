package org.jitgate.hive;

import java.util.concurrent.atomic.AtomicBoolean;
import org.apache.hadoop.hive.conf.HiveConf;
import org.apache.hadoop.hive.ql.security.HadoopDefaultAuthenticator;
import org.apache.hadoop.hive.ql.security.HiveAuthenticationProvider;
import org.apache.hadoop.hive.ql.security.authorization.plugin.HiveAuthorizer;
import org.apache.hadoop.hive.ql.security.authorization.plugin.HiveAuthorizerFactory;
import org.apache.hadoop.hive.ql.security.authorization.plugin.HiveAuthzPluginException;
import org.apache.hadoop.hive.ql.security.authorization.plugin.HiveAuthzSessionContext;
import org.apache.hadoop.hive.ql.security.authorization.plugin.HiveMetastoreClientFactory;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * jitgate's HiveServer2 plugin. In hive-site.xml:
 * <pre>
 * hive.security.authorization.enabled=true
 * hive.security.authorization.manager=org.jitgate.hive.JitGateAuthorizerFactory
 * hive.security.authenticator.manager=org.apache.hadoop.hive.ql.security.SessionStateUserAuthenticator
 * jitgate.service.url=..., jitgate.service.token.file=..., jitgate.cache.dir=...
 * jitgate.hive.fallback=allow        # or deny: refuse whatever touches no zone
 * </pre>
 * The authenticator line makes the session's user (not HiveServer2's own) the one jitgate
 * decides for when {@code hive.server2.enable.doAs} is false.
 *
 * <p>Every query's inputs and outputs go to the jitgate core in one decision (see
 * {@link JitGateAuthorizer}); inside a zone a query runs only while an approved grant covers
 * its user, resources and actions. Outside every zone Hive behaves as it does with no
 * authorizer, unless {@code jitgate.hive.fallback=deny}. Set {@code jitgate.fallback.zones} to the
 * zones' resources too, so a HiveServer2 that has not yet reached the service denies them rather
 * than treating them as outside every zone.
 *
 * <p>Limits, from what Hive hands an authorizer: a query is checked when it is compiled, so one
 * already running when its grant ends runs to its end. A view is checked, not the tables under
 * it: a view outside the zone over zone tables lets its readers through (creating one needs
 * export). Hive 4 exports only the schema of an external table unless
 * {@code hive.repl.dump.metadata.only.for.external.table=false}, and then names no table to the
 * authorizer, so that EXPORT is not checked (no data leaves).
 */
public class JitGateAuthorizerFactory implements HiveAuthorizerFactory {
    private static final Logger LOG = LoggerFactory.getLogger(JitGateAuthorizerFactory.class);
    private static final AtomicBoolean USER_WARNED = new AtomicBoolean();

    @Override
    public HiveAuthorizer createHiveAuthorizer(HiveMetastoreClientFactory metastoreClientFactory,
                                               HiveConf conf, HiveAuthenticationProvider authenticator,
                                               HiveAuthzSessionContext ctx) throws HiveAuthzPluginException {
        if (authenticator instanceof HadoopDefaultAuthenticator && !conf.getBoolean("hive.server2.enable.doAs", true)
                && USER_WARNED.compareAndSet(false, true)) {
            LOG.warn("jitgate: hive.server2.enable.doAs is false and the authenticator is Hadoop's, so every"
                    + " session is decided as HiveServer2's own user; set hive.security.authenticator.manager="
                    + "org.apache.hadoop.hive.ql.security.SessionStateUserAuthenticator");
        }
        return new JitGateAuthorizer(conf, authenticator);
    }
}
