-- RedefineTables
PRAGMA defer_foreign_keys=ON;
PRAGMA foreign_keys=OFF;
CREATE TABLE "new_Profile" (
    "id" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    "projectId" INTEGER NOT NULL,
    "name" TEXT NOT NULL,
    "kubeContext" TEXT NOT NULL,
    "namespace" TEXT NOT NULL,
    "targetKind" TEXT NOT NULL,
    "targetName" TEXT NOT NULL,
    "container" TEXT NOT NULL DEFAULT '',
    "portMappings" TEXT NOT NULL,
    "launchCommand" TEXT NOT NULL DEFAULT '',
    "workingDirectory" TEXT NOT NULL DEFAULT '',
    "isolated" BOOLEAN NOT NULL DEFAULT false,
    "routingKey" TEXT NOT NULL DEFAULT '',
    "envOverrides" TEXT NOT NULL DEFAULT '{}',
    "configFilePath" TEXT NOT NULL DEFAULT '',
    "privilegeMode" TEXT NOT NULL DEFAULT 'auto',
    "agentImage" TEXT NOT NULL DEFAULT '',
    "keepProbes" BOOLEAN NOT NULL DEFAULT false,
    "keepLifecycleHooks" BOOLEAN NOT NULL DEFAULT false,
    "podResources" TEXT NOT NULL DEFAULT '{}',
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" DATETIME NOT NULL,
    CONSTRAINT "Profile_projectId_fkey" FOREIGN KEY ("projectId") REFERENCES "Project" ("id") ON DELETE CASCADE ON UPDATE CASCADE
);
INSERT INTO "new_Profile" ("agentImage", "configFilePath", "container", "createdAt", "envOverrides", "id", "isolated", "keepLifecycleHooks", "keepProbes", "kubeContext", "launchCommand", "name", "namespace", "portMappings", "privilegeMode", "projectId", "routingKey", "targetKind", "targetName", "updatedAt", "workingDirectory") SELECT "agentImage", "configFilePath", "container", "createdAt", "envOverrides", "id", "isolated", "keepLifecycleHooks", "keepProbes", "kubeContext", "launchCommand", "name", "namespace", "portMappings", "privilegeMode", "projectId", "routingKey", "targetKind", "targetName", "updatedAt", "workingDirectory" FROM "Profile";
DROP TABLE "Profile";
ALTER TABLE "new_Profile" RENAME TO "Profile";
CREATE UNIQUE INDEX "Profile_projectId_name_key" ON "Profile"("projectId", "name");
PRAGMA foreign_keys=ON;
PRAGMA defer_foreign_keys=OFF;
