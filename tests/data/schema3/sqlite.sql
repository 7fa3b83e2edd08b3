BEGIN TRANSACTION;
CREATE TABLE account_health (
	provider VARCHAR(64) NOT NULL, 
	account TEXT NOT NULL, 
	raw VARCHAR(64) NOT NULL, 
	streak INTEGER NOT NULL, 
	since DATETIME, 
	announced VARCHAR(64), 
	episode INTEGER NOT NULL, 
	error TEXT, 
	expires DATETIME, 
	warned DATETIME, 
	data TEXT, 
	checked_at DATETIME, 
	PRIMARY KEY (provider, account)
);
INSERT INTO "account_health" VALUES('pixverse','a@b.c','ok',1048576,NULL,NULL,0,'re-add the account','2026-12-02 12:00:00.000000',NULL,NULL,'2026-11-30 12:00:00.000000');
INSERT INTO "account_health" VALUES('useapi','','ok',1048576,NULL,NULL,0,NULL,NULL,NULL,'{"active":true,"providers":[["PixVerse API",2,1,0]]}','2026-11-30 12:00:00.000000');
CREATE TABLE alert_mentions (
	kind VARCHAR(16) NOT NULL, 
	provider VARCHAR(64) NOT NULL, 
	role_id BIGINT NOT NULL, 
	PRIMARY KEY (kind, provider)
);
INSERT INTO "alert_mentions" VALUES('upstream','',1200000000000000103);
CREATE TABLE alert_mutes (
	provider VARCHAR(64) NOT NULL, 
	kind VARCHAR(16) NOT NULL, 
	until DATETIME, 
	reason TEXT, 
	created_at DATETIME NOT NULL, 
	PRIMARY KEY (provider, kind)
);
INSERT INTO "alert_mutes" VALUES('pixverse','capacity','2028-01-04 12:00:00.000000','noisy','2026-11-30 19:41:53.215803');
CREATE TABLE alert_outbox (
	id INTEGER NOT NULL, 
	"key" TEXT NOT NULL, 
	provider VARCHAR(64) NOT NULL, 
	kind VARCHAR(16) NOT NULL, 
	batch VARCHAR(128) NOT NULL, 
	channel_id BIGINT, 
	mention_role_id BIGINT, 
	event TEXT NOT NULL, 
	state VARCHAR(16) NOT NULL, 
	attempts INTEGER NOT NULL, 
	created_at DATETIME NOT NULL, 
	next_attempt_at DATETIME NOT NULL, 
	claimed_by VARCHAR(128), 
	claimed_until DATETIME, 
	last_error TEXT, 
	sent_message_id BIGINT, 
	sent_at DATETIME, 
	PRIMARY KEY (id), 
	CONSTRAINT uq_alert_outbox_key UNIQUE ("key")
);
INSERT INTO "alert_outbox" VALUES(1,'job:pixverse:sent:completed','pixverse','job','pixverse:2026-11-30T12:00:00+00:00',1200000000000000101,NULL,'{"key":"job:pixverse:sent:completed","kind":"job","provider":"pixverse","word":"completed","at":"2026-11-30T12:00:00+00:00","job_id":"user:1-pixverse:a@b.c-video:7","account":"a@b.c","detail":"completed detail","urls":["https://media.example/7.mp4"],"extra":{"kind":"video"}}','sent',0,'2026-11-30 12:00:00.000000','2026-11-30 12:00:00.000000',NULL,NULL,NULL,1200000000000000999,'2026-11-30 12:00:00.000000');
INSERT INTO "alert_outbox" VALUES(2,'job:pixverse:pending:failed','pixverse','job','pixverse:2026-11-30T12:00:00+00:00',1200000000000000101,1200000000000000103,'{"key":"job:pixverse:pending:failed","kind":"job","provider":"pixverse","word":"failed","at":"2026-11-30T12:00:00+00:00","job_id":"user:1-pixverse:a@b.c-video:7","account":"a@b.c","detail":"failed detail","urls":["https://media.example/7.mp4"],"extra":{"kind":"video"}}','pending',0,'2026-11-30 12:00:00.000000','2026-11-30 12:00:00.000000',NULL,NULL,NULL,NULL,NULL);
INSERT INTO "alert_outbox" VALUES(3,'capacity:pixverse:a@b.c:3:exhausted','pixverse','capacity','pixverse:2026-11-30T12:00:00+00:00',1200000000000000102,NULL,'{"key":"capacity:pixverse:a@b.c:3:exhausted","kind":"capacity","provider":"pixverse","word":"exhausted","at":"2026-11-30T12:00:00+00:00","job_id":null,"account":"a@b.c","detail":"exhausted detail","urls":["https://media.example/7.mp4"],"extra":{"kind":"video"}}','held',0,'2026-11-30 12:00:00.000000','2026-11-30 12:00:00.000000',NULL,NULL,'403 Missing Permissions',NULL,NULL);
INSERT INTO "alert_outbox" VALUES(4,'job:pixverse:muted:moderated','pixverse','job','pixverse:2026-11-30T12:00:00+00:00',NULL,NULL,'{"key":"job:pixverse:muted:moderated","kind":"job","provider":"pixverse","word":"moderated","at":"2026-11-30T12:00:00+00:00","job_id":"user:1-pixverse:a@b.c-video:7","account":"a@b.c","detail":"moderated detail","urls":["https://media.example/7.mp4"],"extra":{"kind":"video"}}','muted',0,'2026-11-30 12:00:00.000000','2026-11-30 12:00:00.000000',NULL,NULL,NULL,NULL,NULL);
INSERT INTO "alert_outbox" VALUES(5,'job:pixverse:unrouted:unknown','pixverse','job','pixverse:2026-11-30T12:00:00+00:00',NULL,NULL,'{"key":"job:pixverse:unrouted:unknown","kind":"job","provider":"pixverse","word":"unknown","at":"2026-11-30T12:00:00+00:00","job_id":"user:1-pixverse:a@b.c-video:7","account":"a@b.c","detail":"unknown detail","urls":["https://media.example/7.mp4"],"extra":{"kind":"video"}}','unrouted',0,'2026-11-30 12:00:00.000000','2026-11-30 12:00:00.000000',NULL,NULL,NULL,NULL,NULL);
CREATE TABLE alert_routes (
	kind VARCHAR(16) NOT NULL, 
	provider VARCHAR(64) NOT NULL, 
	channel_id BIGINT NOT NULL, 
	updated_at DATETIME NOT NULL, 
	PRIMARY KEY (kind, provider)
);
INSERT INTO "alert_routes" VALUES('job','',1200000000000000101,'2026-11-30 19:41:53.213887');
INSERT INTO "alert_routes" VALUES('capacity','pixverse',1200000000000000102,'2026-11-30 19:41:53.215039');
CREATE TABLE alert_states (
	provider VARCHAR(64) NOT NULL, 
	scope TEXT NOT NULL, 
	raw VARCHAR(64) NOT NULL, 
	streak INTEGER NOT NULL, 
	since DATETIME, 
	announced VARCHAR(64), 
	episode INTEGER NOT NULL, 
	updated_at DATETIME NOT NULL, 
	PRIMARY KEY (provider, scope)
);
INSERT INTO "alert_states" VALUES('pixverse','capacity:a@b.c','full',1048576,'2026-11-30 12:00:00.000000','full',3,'2026-11-30 12:00:00.000000');
INSERT INTO "alert_states" VALUES('pixverse','upstream','ok',2,'2026-11-29 12:00:00.000000',NULL,1,'2026-11-30 12:00:00.000000');
CREATE TABLE board_messages (
	message_id BIGINT NOT NULL, 
	channel_id BIGINT NOT NULL, 
	guild_id BIGINT, 
	provider VARCHAR(64) NOT NULL, 
	created_at DATETIME NOT NULL, 
	PRIMARY KEY (message_id), 
	CONSTRAINT uq_board_channel_provider UNIQUE (channel_id, provider)
);
INSERT INTO "board_messages" VALUES(1200000000000000555,1200000000000000101,1200000000000000104,'','2026-11-30 19:41:53.217968');
CREATE TABLE job_untracks (
	provider VARCHAR(64) NOT NULL, 
	job_id TEXT NOT NULL, 
	by_user BIGINT NOT NULL, 
	at DATETIME NOT NULL, 
	PRIMARY KEY (provider, job_id)
);
INSERT INTO "job_untracks" VALUES('pixverse','user:1-pixverse:a@b.c-image:8',1200000000000000105,'2026-11-30 12:00:00.000000');
CREATE TABLE leases (
	name VARCHAR(128) NOT NULL, 
	holder VARCHAR(128) NOT NULL, 
	until DATETIME NOT NULL, 
	PRIMARY KEY (name)
);
INSERT INTO "leases" VALUES('watch:pixverse','replica-1','2028-01-04 12:00:00.000000');
CREATE TABLE opsbot_schema (
	id INTEGER NOT NULL, 
	version INTEGER NOT NULL, 
	PRIMARY KEY (id)
);
INSERT INTO "opsbot_schema" VALUES(1,3);
CREATE TABLE watch_pending (
	provider VARCHAR(64) NOT NULL, 
	job_id TEXT NOT NULL, 
	job TEXT NOT NULL, 
	left_at DATETIME NOT NULL, 
	attempts INTEGER NOT NULL, 
	last_error TEXT, 
	PRIMARY KEY (provider, job_id)
);
INSERT INTO "watch_pending" VALUES('pixverse','user:1-pixverse:x@y.z-video:3','["user:1-pixverse:x@y.z-video:3","video","x@y.z",1796040000.0,5,null]','2026-11-30 11:58:00.000000',2,'HTTP 503');
CREATE TABLE watch_snapshots (
	provider VARCHAR(64) NOT NULL, 
	taken_at DATETIME NOT NULL, 
	data TEXT NOT NULL, 
	stuck TEXT NOT NULL, 
	updated_at DATETIME NOT NULL, 
	PRIMARY KEY (provider)
);
INSERT INTO "watch_snapshots" VALUES('pixverse','2026-11-30 12:00:00.000000','{"v":1,"t":1796040000.0,"j":[["user:1-pixverse:a@b.c-video:7","video","a@b.c",1796036400.0,3600,null],["user:1-pixverse:a@b.c-image:8","image","a@b.c",null,42,"v4"]],"a":[["a@b.c",2,2,0],["x@y.z",5,0,null]]}','["user:1-pixverse:a@b.c-video:7"]','2026-11-30 12:00:00.000000');
CREATE INDEX ix_alert_outbox_due ON alert_outbox (state, next_attempt_at);
CREATE INDEX ix_alert_outbox_batch ON alert_outbox (batch);
CREATE INDEX ix_alert_outbox_claim ON alert_outbox (claimed_by);
CREATE INDEX ix_job_untracks_at ON job_untracks (at);
COMMIT;
