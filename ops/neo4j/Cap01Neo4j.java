// Starts Neo4j 5.26 LTS Community as a real server process: the embedded database
// engine with its Bolt connector listening on 127.0.0.1, authentication on.
//
// Configuration (environment, set by ops/services.sh):
//   NEO4J_DATA_DIR        where the store lives (required)
//   NEO4J_BOLT_PORT       Bolt port on 127.0.0.1 (default 7687)
//   NEO4J_PASSWORD        password of the "neo4j" user (required, >= 8 chars)
//   NEO4J_PAGECACHE_MB    page cache size (default 256)
//   NEO4J_READY_FILE      written once the password is set and Bolt accepts logins (optional)
//   NEO4J_BOLT_TLS_DIR    a folder holding private.key and public.crt (PEM; optional): Bolt then
//                         requires TLS with that certificate (ops/neo4j/make_test_certs.sh makes
//                         a throwaway CA and such a folder for the TLS test)
//
// ops/services.sh compiles it once next to the fetched jars (javac -cp 'lib/*' -d classes) and
// runs it with:  java -cp 'classes:lib/*' Cap01Neo4j
import java.nio.file.Path;
import java.util.Map;

import org.neo4j.configuration.GraphDatabaseSettings;
import org.neo4j.configuration.connectors.BoltConnector;
import org.neo4j.configuration.connectors.HttpConnector;
import org.neo4j.configuration.helpers.SocketAddress;
import org.neo4j.configuration.ssl.ClientAuth;
import org.neo4j.configuration.ssl.SslPolicyConfig;
import org.neo4j.configuration.ssl.SslPolicyScope;
import org.neo4j.dbms.api.DatabaseManagementService;
import org.neo4j.dbms.api.DatabaseManagementServiceBuilder;
import org.neo4j.io.ByteUnit;

public class Cap01Neo4j {
    private static String env(String name, String fallback) {
        String value = System.getenv(name);
        if (value == null || value.isBlank()) {
            if (fallback == null) {
                System.err.println("Cap01Neo4j: environment variable " + name + " is required.");
                System.exit(2);
            }
            return fallback;
        }
        return value;
    }

    public static void main(String[] args) {
        Path home = Path.of(env("NEO4J_DATA_DIR", null)).toAbsolutePath();
        int port = Integer.parseInt(env("NEO4J_BOLT_PORT", "7687"));
        String password = env("NEO4J_PASSWORD", null);
        long pageCacheMb = Long.parseLong(env("NEO4J_PAGECACHE_MB", "256"));
        if (password.length() < 8) {
            System.err.println("Cap01Neo4j: NEO4J_PASSWORD must be at least 8 characters.");
            System.exit(2);
        }

        DatabaseManagementServiceBuilder builder = new DatabaseManagementServiceBuilder(home)
                .setConfig(GraphDatabaseSettings.auth_enabled, true)
                .setConfig(GraphDatabaseSettings.pagecache_memory, ByteUnit.mebiBytes(pageCacheMb))
                .setConfig(GraphDatabaseSettings.keep_logical_logs, "keep_none")
                .setConfig(BoltConnector.enabled, true)
                .setConfig(BoltConnector.listen_address, new SocketAddress("127.0.0.1", port))
                .setConfig(BoltConnector.advertised_address, new SocketAddress("127.0.0.1", port))
                .setConfig(HttpConnector.enabled, false);
        String tlsDir = System.getenv("NEO4J_BOLT_TLS_DIR");
        boolean tls = tlsDir != null && !tlsDir.isBlank();
        if (tls) {
            // The Bolt SSL policy: private.key and public.crt in the folder (the policy's default
            // file names), no client certificates; a plain-text connection is refused.
            SslPolicyConfig bolt = SslPolicyConfig.forScope(SslPolicyScope.BOLT);
            builder.setConfig(bolt.enabled, true)
                    .setConfig(bolt.base_directory, Path.of(tlsDir).toAbsolutePath())
                    .setConfig(bolt.client_auth, ClientAuth.NONE)
                    .setConfig(BoltConnector.encryption_level, BoltConnector.EncryptionLevel.REQUIRED);
        }
        DatabaseManagementService dbms = builder.build();
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            System.out.println("Cap01Neo4j: shutting down");
            dbms.shutdown();
        }));

        // The password always follows the environment, so a changed secret takes effect on restart.
        try {
            dbms.database(GraphDatabaseSettings.SYSTEM_DATABASE_NAME).executeTransactionally(
                    "ALTER USER neo4j SET PASSWORD $pw CHANGE NOT REQUIRED", Map.of("pw", password));
        } catch (org.neo4j.graphdb.QueryExecutionException e) {
            // A restart with an unchanged password: Neo4j refuses to "change" it to itself.
            if (!String.valueOf(e.getMessage()).contains("Old password and new password cannot be the same")) {
                dbms.shutdown();
                throw e;
            }
        }
        String readyFile = System.getenv("NEO4J_READY_FILE");
        if (readyFile != null && !readyFile.isBlank()) {
            try {
                java.nio.file.Files.writeString(Path.of(readyFile), ProcessHandle.current().pid() + "\n");
            } catch (java.io.IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        }
        System.out.println("Cap01Neo4j: Neo4j " + org.neo4j.kernel.internal.Version.getNeo4jVersion()
                + " Community, Bolt on 127.0.0.1:" + port + (tls ? " (TLS required)" : "") + ", store " + home);
        try {
            Thread.currentThread().join();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
