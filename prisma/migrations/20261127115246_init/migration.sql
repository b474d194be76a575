-- CreateTable
CREATE TABLE "Project" (
    "id" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    "name" TEXT NOT NULL,
    "folderPath" TEXT NOT NULL,
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" DATETIME NOT NULL
);

-- CreateTable
CREATE TABLE "Profile" (
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
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" DATETIME NOT NULL,
    CONSTRAINT "Profile_projectId_fkey" FOREIGN KEY ("projectId") REFERENCES "Project" ("id") ON DELETE CASCADE ON UPDATE CASCADE
);

-- CreateTable
CREATE TABLE "SessionRecord" (
    "id" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    "profileId" INTEGER NOT NULL,
    "sessionId" TEXT NOT NULL,
    "startedAt" DATETIME NOT NULL,
    "endedAt" DATETIME,
    "outcome" TEXT NOT NULL,
    "summary" TEXT NOT NULL DEFAULT '',
    CONSTRAINT "SessionRecord_profileId_fkey" FOREIGN KEY ("profileId") REFERENCES "Profile" ("id") ON DELETE CASCADE ON UPDATE CASCADE
);

-- CreateIndex
CREATE UNIQUE INDEX "Project_name_key" ON "Project"("name");

-- CreateIndex
CREATE UNIQUE INDEX "Profile_projectId_name_key" ON "Profile"("projectId", "name");

-- CreateIndex
CREATE INDEX "SessionRecord_profileId_startedAt_idx" ON "SessionRecord"("profileId", "startedAt");
