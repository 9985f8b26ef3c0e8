package org.jitgate.hive;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Function;
import org.apache.hadoop.hive.conf.HiveConf;
import org.apache.hadoop.hive.ql.security.HiveAuthenticationProvider;
import org.apache.hadoop.hive.ql.security.authorization.plugin.AbstractHiveAuthorizer;
import org.apache.hadoop.hive.ql.security.authorization.plugin.DisallowTransformHook;
import org.apache.hadoop.hive.ql.security.authorization.plugin.HiveAccessControlException;
import org.apache.hadoop.hive.ql.security.authorization.plugin.HiveAuthzContext;
import org.apache.hadoop.hive.ql.security.authorization.plugin.HiveAuthzPluginException;
import org.apache.hadoop.hive.ql.security.authorization.plugin.HiveOperationType;
import org.apache.hadoop.hive.ql.security.authorization.plugin.HivePolicyProvider;
import org.apache.hadoop.hive.ql.security.authorization.plugin.HivePrincipal;
import org.apache.hadoop.hive.ql.security.authorization.plugin.HivePrivilege;
import org.apache.hadoop.hive.ql.security.authorization.plugin.HivePrivilegeInfo;
import org.apache.hadoop.hive.ql.security.authorization.plugin.HivePrivilegeObject;
import org.apache.hadoop.hive.ql.security.authorization.plugin.HiveRoleGrant;
import org.apache.hadoop.hive.ql.security.authorization.plugin.SettableConfigUpdater;
import org.apache.hadoop.hive.ql.session.SessionState;
import org.jitgate.Access;
import org.jitgate.JitGate;
import org.jitgate.PluginConfig;
import org.jitgate.Verdict;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One HiveServer2 session's authorizer. {@link #checkPrivileges} turns the operation's inputs and
 * outputs into jitgate accesses ({@link HiveAccesses}) and asks the core once; a denial becomes a
 * {@link HiveAccessControlException} carrying the core's message (user, resource, action, link to
 * request it). Anything going wrong on jitgate's side denies as well.
 *
 * <p>Grants live in jitgate, so Hive's GRANT, REVOKE and role statements are refused. Listings
 * (SHOW TABLES, SHOW DATABASES) hide nothing: names are how people find what to request, and a
 * zone gates actions on data, not the knowledge that a table exists.
 */
final class JitGateAuthorizer extends AbstractHiveAuthorizer {
    static final String FALLBACK_KEY = "jitgate.hive.fallback";
    /** Comma-separated regular expressions of keys a session may SET beyond Hive's safe list. */
    static final String SET_ALLOW_KEY = "jitgate.hive.set.allow";
    /** Comma-separated resources (and what lies below them) a session may ADD, or a function may use, in a zone. */
    static final String JARS_ALLOW_KEY = "jitgate.hive.jars.allow";
    /**
     * Hive's functions that run any Java method by reflection or read HiveServer2's files, which
     * its own authorizer blocks by name (reflect, reflect2, java_method, in_file): blocked here by
     * class, with their subclasses, so a new name for them does not bring them back.
     */
    static final List<String> BLOCKED_UDF_CLASSES = List.of(
            "org.apache.hadoop.hive.ql.udf.generic.AbstractGenericUDFReflect",
            "org.apache.hadoop.hive.ql.udf.generic.GenericUDFInFile");
    static final String QUERY_ID_KEY = "hive.query.id";
    private static final String NOT_SUPPORTED = "not supported by jitgate; use the jitgate service";

    private static final Logger LOG = LoggerFactory.getLogger(JitGateAuthorizer.class);
    /** Operations already reported as missing from the table, so the log says it once. */
    private static final Set<String> UNMAPPED_REPORTED = ConcurrentHashMap.newKeySet();

    private final HiveConf conf;
    private final HiveAuthenticationProvider authenticator;
    private final boolean denyOutsideZones;
    private final Function<String, int[]> table;
    private final List<String> jarsAllowed;
    private volatile JitGate jitgate;
    /**
     * Code and files a session adds (ADD JAR/FILE/ARCHIVE, a function USING JAR) run or are read as
     * HiveServer2's user, past both jitgate and the NameNode plugin. So a session that touched a
     * zone may add only what the admin listed, and a session that added something else may touch
     * no zone: these remember which came first. One authorizer serves one session.
     */
    private volatile boolean touchedZone;
    private volatile String added;

    JitGateAuthorizer(HiveConf conf, HiveAuthenticationProvider authenticator) throws HiveAuthzPluginException {
        this(conf, authenticator, HiveAccesses.CORE_TABLE);
    }

    JitGateAuthorizer(HiveConf conf, HiveAuthenticationProvider authenticator, Function<String, int[]> table)
            throws HiveAuthzPluginException {
        this.conf = conf;
        this.authenticator = authenticator;
        this.table = table;
        String fallback = conf.get(FALLBACK_KEY, "allow").trim().toLowerCase(Locale.ROOT);
        if (!fallback.equals("allow") && !fallback.equals("deny")) {
            throw new HiveAuthzPluginException("jitgate: " + FALLBACK_KEY + " must be allow or deny, not `"
                    + fallback + "`");
        }
        this.denyOutsideZones = fallback.equals("deny");
        this.jarsAllowed = new java.util.ArrayList<>();
        for (String prefix : conf.get(JARS_ALLOW_KEY, "").split(",")) {
            if (!prefix.isBlank()) {
                jarsAllowed.add(prefix.trim());
            }
        }
    }

    @Override
    public VERSION getVersion() {
        return VERSION.V1;
    }

    @Override
    public void checkPrivileges(HiveOperationType op, List<HivePrivilegeObject> inputs,
                                List<HivePrivilegeObject> outputs, HiveAuthzContext ctx)
            throws HiveAccessControlException {
        String user = null;
        List<Access> accesses;
        Verdict verdict;
        try {
            user = authenticator.getUserName();
            if (user == null || user.isEmpty()) {
                throw new IllegalStateException("the session has no user");
            }
            if (op == HiveOperationType.CREATEFUNCTION) {
                refuseBlockedFunctions(user, inputs, outputs);
            }
            accesses = op == HiveOperationType.ABORT_TRANSACTIONS
                    ? HiveAccesses.abortTransactions(ctx == null ? null : ctx.getCommandString(),
                            org.apache.hadoop.hive.ql.metadata.Hive.get(conf).getMSC().showLocks(
                                    new org.apache.hadoop.hive.metastore.api.ShowLocksRequest()).getLocks(), this::row)
                    : HiveAccesses.of(op, inputs, outputs, this::row, workingDir(op));
            String adds = unlistedAddition(op, accesses);
            if (adds != null && touchedZone) {
                throw new HiveAccessControlException("jitgate: " + user + " may not add " + adds
                        + " to this session: it touched a jitgate zone, and what a session adds runs or is read as"
                        + " HiveServer2 (list it in " + JARS_ALLOW_KEY + ", or use a new session)");
            }
            if (adds != null) {
                added = adds;
            }
            if (accesses.isEmpty()) {
                return;
            }
            String command = ctx == null ? null : ctx.getCommandString();
            verdict = engine().check(user, accesses, op.name(), context(queryId(), command));
            if (verdict.code() != 0) {
                String own = added;
                if (own != null && adds == null) { // an addition itself is decided by the core alone
                    throw new HiveAccessControlException("jitgate: " + user + " may not run " + op + " on "
                            + accesses.get(0).resource() + ": this session added " + own + ", and a session that"
                            + " adds what " + JARS_ALLOW_KEY + " does not list may touch no jitgate zone"
                            + " (use a new session)");
                }
                touchedZone = true;
            }
        } catch (HiveAccessControlException e) {
            throw e;
        } catch (Throwable t) {
            LOG.warn("jitgate: denying {} for {} because the check failed", op, user, t);
            throw new HiveAccessControlException("jitgate: denied " + op + " for " + user
                    + " because the check failed: " + t, t);
        }
        if (verdict.denied()) {
            String message = verdict.message();
            throw new HiveAccessControlException(message == null || message.isEmpty()
                    ? "jitgate: denied " + op + " for " + user + " (decision " + verdict.code() + ")" : message);
        }
        if (!verdict.grants().isEmpty()) {
            QueryWatch.watch(engine(), queryId(), verdict.grants(), SessionState.get());
        }
        if (verdict.code() == 0 && denyOutsideZones) {
            throw new HiveAccessControlException("jitgate: " + user + " may not run " + op + " on "
                    + accesses.get(0).resource() + ": it is in no jitgate zone, and this HiveServer2"
                    + " denies what no zone covers (" + FALLBACK_KEY + "=deny)");
        }
    }

    /** CREATE [TEMPORARY] FUNCTION of a blocked class (or a subclass of one) is refused. */
    private static void refuseBlockedFunctions(String user, List<HivePrivilegeObject> inputs,
                                               List<HivePrivilegeObject> outputs) throws HiveAccessControlException {
        for (List<HivePrivilegeObject> objects : Arrays.asList(inputs, outputs)) {
            if (objects == null) {
                continue;
            }
            for (HivePrivilegeObject o : objects) {
                if (blockedUdf(o.getClassName())) {
                    throw new HiveAccessControlException("jitgate: " + user + " may not create a function of class "
                            + o.getClassName() + ": it runs Java methods by reflection or reads HiveServer2's files"
                            + " (Hive blocks it by name in hive.server2.builtin.udf.blacklist)");
                }
            }
        }
    }

    static boolean blockedUdf(String className) {
        if (className == null || className.isBlank()) {
            return false;
        }
        String name = className.trim();
        if (BLOCKED_UDF_CLASSES.contains(name)) {
            return true;
        }
        try {
            ClassLoader loader = Thread.currentThread().getContextClassLoader();
            Class<?> c = Class.forName(name, false, loader != null ? loader : JitGateAuthorizer.class.getClassLoader());
            for (String blocked : BLOCKED_UDF_CLASSES) {
                if (Class.forName(blocked, false, JitGateAuthorizer.class.getClassLoader()).isAssignableFrom(c)) {
                    return true;
                }
            }
        } catch (ClassNotFoundException | LinkageError notYet) {
            // in a jar the statement adds: an addition, decided by unlistedAddition
        }
        return false;
    }

    /**
     * The first resource that ADD or a function's USING JAR brings into the session and that the
     * admin's {@value #JARS_ALLOW_KEY} does not list, or null.
     */
    private String unlistedAddition(HiveOperationType op, List<Access> accesses) {
        if (op != HiveOperationType.ADD && op != HiveOperationType.CREATEFUNCTION) {
            return null;
        }
        for (Access a : accesses) {
            String r = a.resource();
            if (a.output() || r.startsWith("hive:")) {
                continue;
            }
            if (jarsAllowed.stream().noneMatch(listed -> covers(listed, r))) {
                return r;
            }
        }
        return null;
    }

    /**
     * Whether the admin's listed resource covers {@code resource}: the same, or below it at a
     * path boundary ({@code hdfs:/jars} covers {@code hdfs:/jars/udf.jar}, not
     * {@code hdfs:/jarsevil/x.jar}).
     */
    static boolean covers(String listed, String resource) {
        String base = listed.endsWith("/") ? listed.substring(0, listed.length() - 1) : listed;
        return resource.equals(base) || resource.startsWith(base + "/");
    }

    /**
     * Where a statement's relative paths lie: a {@code dfs} command's on the session's
     * filesystem (its working directory, as the user HiveServer2 runs it for); another's (ADD
     * FILE) on HiveServer2's local disk, in its directory.
     */
    private java.net.URI workingDir(HiveOperationType op) throws java.io.IOException {
        if (op == HiveOperationType.DFS) {
            return org.apache.hadoop.fs.FileSystem.get(conf).getWorkingDirectory().toUri();
        }
        return java.nio.file.Path.of(System.getProperty("user.dir")).toUri();
    }

    private int[] row(String operation) {
        int[] row = table.apply(operation);
        if (row == null && UNMAPPED_REPORTED.add(operation)) {
            LOG.warn("jitgate: Hive operation {} has no row in the core's hive table; it is denied"
                    + " inside every zone", operation);
        }
        return row;
    }

    /** This JVM's engine, opened from HiveServer2's {@code jitgate.*} keys by the first check. */
    private JitGate engine() {
        JitGate engine = jitgate;
        if (engine == null) {
            engine = config(conf).shared();
            jitgate = engine;
            TableContext.startOnce(conf, engine);
        }
        return engine;
    }

    /** HiveServer2's {@code jitgate.*} keys: a walk of every HiveConf key. */
    static PluginConfig config(HiveConf conf) {
        return PluginConfig.read("hive", conf, conf::get);
    }

    /** The running query's id, which HiveServer2 keeps in the session's configuration. */
    private String queryId() {
        SessionState session = SessionState.get();
        String id = session == null || session.getConf() == null ? null : session.getConf().get(QUERY_ID_KEY);
        return id == null || id.isEmpty() ? conf.get(QUERY_ID_KEY) : id;
    }

    /** The audit context: the Hive query id and the SHA-256 of the command text. */
    static String context(String queryId, String command) throws Exception {
        String hash = "-";
        if (command != null) {
            MessageDigest sha = MessageDigest.getInstance("SHA-256");
            hash = HexFormat.of().formatHex(sha.digest(command.getBytes(StandardCharsets.UTF_8)));
        }
        return "hive.query.id=" + (queryId == null || queryId.isEmpty() ? "-" : queryId)
                + " command.sha256=" + hash;
    }

    /**
     * A session may SET only the keys on an allow-list: Hive's own list of keys that are safe to
     * change ({@code hive.security.authorization.sqlstd.confwhitelist} and its {@code .append},
     * as the SQL-standard authorizer uses them) plus the admin's {@value #SET_ALLOW_KEY}. Any
     * other key (hooks, the command whitelist, {@code fs.<scheme>.impl}, ...) is refused, since a
     * session that could set it could switch a check off. Sessions can never change jitgate's
     * settings (they are HiveServer2's, not the user's) or the query id the audit trail names.
     * And what would run a user's own code as HiveServer2's user (with {@code doAs=false}, past
     * both jitgate and the NameNode plugin) is closed as Hive's own SQL-standard authorizer closes
     * it: TRANSFORM scripts, the reflective UDFs, and the {@code compile} command. The hooks
     * installed here too: {@link PlanCheck} decides what the compiled plan reads through views
     * and where its tables keep their files; {@link QueryEnd} tells the running-query watch a
     * query has ended.
     */
    @Override
    public void applyAuthorizationConfigPolicy(HiveConf hiveConf) throws HiveAuthzPluginException {
        SettableConfigUpdater.setHiveConfWhiteList(hiveConf);
        String allowed = allowList(hiveConf.get(SET_ALLOW_KEY, ""));
        if (!allowed.isEmpty()) {
            String hive = hiveConf.getVar(HiveConf.ConfVars.HIVE_AUTHORIZATION_SQL_STD_AUTH_CONFIG_WHITELIST);
            String append = hiveConf.getVar(HiveConf.ConfVars.HIVE_AUTHORIZATION_SQL_STD_AUTH_CONFIG_WHITELIST_APPEND);
            StringBuilder all = new StringBuilder(hive);
            if (append != null && !append.isBlank()) {
                all.append('|').append(append);
            }
            hiveConf.setModifiableWhiteListRegex(all.append('|').append(allowed).toString());
        }
        hiveConf.addToRestrictList(JitGate.KEY_PREFIX + ",hive.query.id");
        addHook(hiveConf, HiveConf.ConfVars.PRE_EXEC_HOOKS, DisallowTransformHook.class.getName());
        addHook(hiveConf, HiveConf.ConfVars.PRE_EXEC_HOOKS, PlanCheck.class.getName());
        addHook(hiveConf, HiveConf.ConfVars.HIVE_QUERY_LIFETIME_HOOKS, QueryEnd.class.getName());
        hiveConf.setVar(HiveConf.ConfVars.HIVE_SERVER2_BUILTIN_UDF_BLACKLIST, "reflect,reflect2,java_method,in_file");
        hiveConf.setVar(HiveConf.ConfVars.HIVE_SECURITY_COMMAND_WHITELIST, "set,reset,dfs,add,list,delete,reload");
    }

    private static void addHook(HiveConf conf, HiveConf.ConfVars key, String hook) {
        String hooks = conf.getVar(key).trim();
        if (!List.of(hooks.split("\\s*,\\s*")).contains(hook)) {
            conf.setVar(key, hooks.isEmpty() ? hook : hooks + "," + hook);
        }
    }

    /**
     * {@value #SET_ALLOW_KEY} as one regular expression, each item checked so that a typo fails
     * HiveServer2's sessions loudly instead of leaving a key open or closed by accident.
     */
    static String allowList(String value) throws HiveAuthzPluginException {
        StringBuilder out = new StringBuilder();
        for (String item : value.split(",")) {
            String regex = item.trim();
            if (regex.isEmpty()) {
                continue;
            }
            try {
                java.util.regex.Pattern.compile(regex);
            } catch (java.util.regex.PatternSyntaxException e) {
                throw new HiveAuthzPluginException("jitgate: " + SET_ALLOW_KEY + " holds `" + regex
                        + "`, which is not a regular expression: " + e.getDescription());
            }
            out.append(out.length() == 0 ? "" : "|").append('(').append(regex).append(')');
        }
        return out.toString();
    }

    @Override
    public List<HivePrivilegeObject> filterListCmdObjects(List<HivePrivilegeObject> listObjs,
                                                          HiveAuthzContext context) {
        return listObjs;
    }

    @Override
    public List<HivePrivilegeObject> applyRowFilterAndColumnMasking(HiveAuthzContext context,
                                                                    List<HivePrivilegeObject> privObjs) {
        return privObjs;
    }

    @Override
    public boolean needTransform() {
        return false;
    }

    @Override
    public HivePolicyProvider getHivePolicyProvider() {
        return null;
    }

    @Override
    public List<String> getCurrentRoleNames() {
        return List.of();
    }

    @Override
    public void grantPrivileges(List<HivePrincipal> principals, List<HivePrivilege> privileges,
                                HivePrivilegeObject object, HivePrincipal grantor, boolean grantOption)
            throws HiveAuthzPluginException {
        throw notSupported();
    }

    @Override
    public void revokePrivileges(List<HivePrincipal> principals, List<HivePrivilege> privileges,
                                 HivePrivilegeObject object, HivePrincipal grantor, boolean grantOption)
            throws HiveAuthzPluginException {
        throw notSupported();
    }

    @Override
    public void createRole(String roleName, HivePrincipal adminGrantor) throws HiveAuthzPluginException {
        throw notSupported();
    }

    @Override
    public void dropRole(String roleName) throws HiveAuthzPluginException {
        throw notSupported();
    }

    @Override
    public List<HiveRoleGrant> getPrincipalGrantInfoForRole(String roleName) throws HiveAuthzPluginException {
        throw notSupported();
    }

    @Override
    public List<HiveRoleGrant> getRoleGrantInfoForPrincipal(HivePrincipal principal) throws HiveAuthzPluginException {
        throw notSupported();
    }

    @Override
    public void grantRole(List<HivePrincipal> principals, List<String> roles, boolean grantOption,
                          HivePrincipal grantor) throws HiveAuthzPluginException {
        throw notSupported();
    }

    @Override
    public void revokeRole(List<HivePrincipal> principals, List<String> roles, boolean grantOption,
                           HivePrincipal grantor) throws HiveAuthzPluginException {
        throw notSupported();
    }

    @Override
    public List<String> getAllRoles() throws HiveAuthzPluginException {
        throw notSupported();
    }

    @Override
    public List<HivePrivilegeInfo> showPrivileges(HivePrincipal principal, HivePrivilegeObject privObj)
            throws HiveAuthzPluginException {
        throw notSupported();
    }

    @Override
    public void setCurrentRole(String roleName) throws HiveAuthzPluginException {
        throw notSupported();
    }

    private static HiveAuthzPluginException notSupported() {
        return new HiveAuthzPluginException(NOT_SUPPORTED);
    }
}
