--
-- PostgreSQL database dump
--

\restrict MghguxtwGVDHuol1rwlgkHbhUcQLnaO9l0gniW1s3gz7y6CcOkeqUPeOxSJjRgK

-- Dumped from database version 15.20 (Debian 15.20-0+deb12u1)
-- Dumped by pg_dump version 15.20 (Debian 15.20-0+deb12u1)

SET statement_timeout = 0;
SET lock_timeout = 0;
SET idle_in_transaction_session_timeout = 0;
SET client_encoding = 'UTF8';
SET standard_conforming_strings = on;
SELECT pg_catalog.set_config('search_path', '', false);
SET check_function_bodies = false;
SET xmloption = content;
SET client_min_messages = warning;
SET row_security = off;

SET default_tablespace = '';

SET default_table_access_method = heap;

--
-- Name: account_health; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.account_health (
    provider character varying(64) NOT NULL,
    account text NOT NULL,
    raw character varying(64) NOT NULL,
    streak integer NOT NULL,
    since timestamp without time zone,
    announced character varying(64),
    episode integer NOT NULL,
    error text,
    expires timestamp without time zone,
    warned timestamp without time zone,
    data text,
    checked_at timestamp without time zone
);


--
-- Name: alert_mentions; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.alert_mentions (
    kind character varying(16) NOT NULL,
    provider character varying(64) NOT NULL,
    role_id bigint NOT NULL
);


--
-- Name: alert_mutes; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.alert_mutes (
    provider character varying(64) NOT NULL,
    kind character varying(16) NOT NULL,
    until timestamp without time zone,
    reason text,
    created_at timestamp without time zone NOT NULL
);


--
-- Name: alert_outbox; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.alert_outbox (
    id bigint NOT NULL,
    key text NOT NULL,
    provider character varying(64) NOT NULL,
    kind character varying(16) NOT NULL,
    batch character varying(128) NOT NULL,
    channel_id bigint,
    mention_role_id bigint,
    event text NOT NULL,
    state character varying(16) NOT NULL,
    attempts integer NOT NULL,
    created_at timestamp without time zone NOT NULL,
    next_attempt_at timestamp without time zone NOT NULL,
    claimed_by character varying(128),
    claimed_until timestamp without time zone,
    last_error text,
    sent_message_id bigint,
    sent_at timestamp without time zone
);


--
-- Name: alert_outbox_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

CREATE SEQUENCE public.alert_outbox_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;


--
-- Name: alert_outbox_id_seq; Type: SEQUENCE OWNED BY; Schema: public; Owner: -
--

ALTER SEQUENCE public.alert_outbox_id_seq OWNED BY public.alert_outbox.id;


--
-- Name: alert_routes; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.alert_routes (
    kind character varying(16) NOT NULL,
    provider character varying(64) NOT NULL,
    channel_id bigint NOT NULL,
    updated_at timestamp without time zone NOT NULL
);


--
-- Name: alert_states; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.alert_states (
    provider character varying(64) NOT NULL,
    scope text NOT NULL,
    raw character varying(64) NOT NULL,
    streak integer NOT NULL,
    since timestamp without time zone,
    announced character varying(64),
    episode integer NOT NULL,
    updated_at timestamp without time zone NOT NULL
);


--
-- Name: board_messages; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.board_messages (
    message_id bigint NOT NULL,
    channel_id bigint NOT NULL,
    guild_id bigint,
    provider character varying(64) NOT NULL,
    created_at timestamp without time zone NOT NULL
);


--
-- Name: job_untracks; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.job_untracks (
    provider character varying(64) NOT NULL,
    job_id text NOT NULL,
    by_user bigint NOT NULL,
    at timestamp without time zone NOT NULL
);


--
-- Name: leases; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.leases (
    name character varying(128) NOT NULL,
    holder character varying(128) NOT NULL,
    until timestamp without time zone NOT NULL
);


--
-- Name: opsbot_schema; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.opsbot_schema (
    id integer NOT NULL,
    version integer NOT NULL
);


--
-- Name: watch_pending; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.watch_pending (
    provider character varying(64) NOT NULL,
    job_id text NOT NULL,
    job text NOT NULL,
    left_at timestamp without time zone NOT NULL,
    attempts integer NOT NULL,
    last_error text
);


--
-- Name: watch_snapshots; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.watch_snapshots (
    provider character varying(64) NOT NULL,
    taken_at timestamp without time zone NOT NULL,
    data text NOT NULL,
    stuck text NOT NULL,
    updated_at timestamp without time zone NOT NULL
);


--
-- Name: alert_outbox id; Type: DEFAULT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.alert_outbox ALTER COLUMN id SET DEFAULT nextval('public.alert_outbox_id_seq'::regclass);


--
-- Data for Name: account_health; Type: TABLE DATA; Schema: public; Owner: -
--

INSERT INTO public.account_health VALUES ('pixverse', 'a@b.c', 'ok', 1048576, NULL, NULL, 0, 're-add the account', '2026-12-02 12:00:00', NULL, NULL, '2026-11-30 12:00:00');
INSERT INTO public.account_health VALUES ('useapi', '', 'ok', 1048576, NULL, NULL, 0, NULL, NULL, NULL, '{"active":true,"providers":[["PixVerse API",2,1,0]]}', '2026-11-30 12:00:00');


--
-- Data for Name: alert_mentions; Type: TABLE DATA; Schema: public; Owner: -
--

INSERT INTO public.alert_mentions VALUES ('upstream', '', 1200000000000000103);


--
-- Data for Name: alert_mutes; Type: TABLE DATA; Schema: public; Owner: -
--

INSERT INTO public.alert_mutes VALUES ('pixverse', 'capacity', '2028-01-04 12:00:00', 'noisy', '2026-11-30 19:44:31.923528');


--
-- Data for Name: alert_outbox; Type: TABLE DATA; Schema: public; Owner: -
--

INSERT INTO public.alert_outbox VALUES (2, 'job:pixverse:pending:failed', 'pixverse', 'job', 'pixverse:2026-11-30T12:00:00+00:00', 1200000000000000101, 1200000000000000103, '{"key":"job:pixverse:pending:failed","kind":"job","provider":"pixverse","word":"failed","at":"2026-11-30T12:00:00+00:00","job_id":"user:1-pixverse:a@b.c-video:7","account":"a@b.c","detail":"failed detail","urls":["https://media.example/7.mp4"],"extra":{"kind":"video"}}', 'pending', 0, '2026-11-30 12:00:00', '2026-11-30 12:00:00', NULL, NULL, NULL, NULL, NULL);
INSERT INTO public.alert_outbox VALUES (4, 'job:pixverse:muted:moderated', 'pixverse', 'job', 'pixverse:2026-11-30T12:00:00+00:00', NULL, NULL, '{"key":"job:pixverse:muted:moderated","kind":"job","provider":"pixverse","word":"moderated","at":"2026-11-30T12:00:00+00:00","job_id":"user:1-pixverse:a@b.c-video:7","account":"a@b.c","detail":"moderated detail","urls":["https://media.example/7.mp4"],"extra":{"kind":"video"}}', 'muted', 0, '2026-11-30 12:00:00', '2026-11-30 12:00:00', NULL, NULL, NULL, NULL, NULL);
INSERT INTO public.alert_outbox VALUES (5, 'job:pixverse:unrouted:unknown', 'pixverse', 'job', 'pixverse:2026-11-30T12:00:00+00:00', NULL, NULL, '{"key":"job:pixverse:unrouted:unknown","kind":"job","provider":"pixverse","word":"unknown","at":"2026-11-30T12:00:00+00:00","job_id":"user:1-pixverse:a@b.c-video:7","account":"a@b.c","detail":"unknown detail","urls":["https://media.example/7.mp4"],"extra":{"kind":"video"}}', 'unrouted', 0, '2026-11-30 12:00:00', '2026-11-30 12:00:00', NULL, NULL, NULL, NULL, NULL);
INSERT INTO public.alert_outbox VALUES (1, 'job:pixverse:sent:completed', 'pixverse', 'job', 'pixverse:2026-11-30T12:00:00+00:00', 1200000000000000101, NULL, '{"key":"job:pixverse:sent:completed","kind":"job","provider":"pixverse","word":"completed","at":"2026-11-30T12:00:00+00:00","job_id":"user:1-pixverse:a@b.c-video:7","account":"a@b.c","detail":"completed detail","urls":["https://media.example/7.mp4"],"extra":{"kind":"video"}}', 'sent', 0, '2026-11-30 12:00:00', '2026-11-30 12:00:00', NULL, NULL, NULL, 1200000000000000999, '2026-11-30 12:00:00');
INSERT INTO public.alert_outbox VALUES (3, 'capacity:pixverse:a@b.c:3:exhausted', 'pixverse', 'capacity', 'pixverse:2026-11-30T12:00:00+00:00', 1200000000000000102, NULL, '{"key":"capacity:pixverse:a@b.c:3:exhausted","kind":"capacity","provider":"pixverse","word":"exhausted","at":"2026-11-30T12:00:00+00:00","job_id":null,"account":"a@b.c","detail":"exhausted detail","urls":["https://media.example/7.mp4"],"extra":{"kind":"video"}}', 'held', 0, '2026-11-30 12:00:00', '2026-11-30 12:00:00', NULL, NULL, '403 Missing Permissions', NULL, NULL);


--
-- Data for Name: alert_routes; Type: TABLE DATA; Schema: public; Owner: -
--

INSERT INTO public.alert_routes VALUES ('job', '', 1200000000000000101, '2026-11-30 19:44:31.915364');
INSERT INTO public.alert_routes VALUES ('capacity', 'pixverse', 1200000000000000102, '2026-11-30 19:44:31.91979');


--
-- Data for Name: alert_states; Type: TABLE DATA; Schema: public; Owner: -
--

INSERT INTO public.alert_states VALUES ('pixverse', 'capacity:a@b.c', 'full', 1048576, '2026-11-30 12:00:00', 'full', 3, '2026-11-30 12:00:00');
INSERT INTO public.alert_states VALUES ('pixverse', 'upstream', 'ok', 2, '2026-11-29 12:00:00', NULL, 1, '2026-11-30 12:00:00');


--
-- Data for Name: board_messages; Type: TABLE DATA; Schema: public; Owner: -
--

INSERT INTO public.board_messages VALUES (1200000000000000555, 1200000000000000101, 1200000000000000104, '', '2026-11-30 19:44:31.934976');


--
-- Data for Name: job_untracks; Type: TABLE DATA; Schema: public; Owner: -
--

INSERT INTO public.job_untracks VALUES ('pixverse', 'user:1-pixverse:a@b.c-image:8', 1200000000000000105, '2026-11-30 12:00:00');


--
-- Data for Name: leases; Type: TABLE DATA; Schema: public; Owner: -
--

INSERT INTO public.leases VALUES ('watch:pixverse', 'replica-1', '2028-01-04 12:00:00');


--
-- Data for Name: opsbot_schema; Type: TABLE DATA; Schema: public; Owner: -
--

INSERT INTO public.opsbot_schema VALUES (1, 3);


--
-- Data for Name: watch_pending; Type: TABLE DATA; Schema: public; Owner: -
--

INSERT INTO public.watch_pending VALUES ('pixverse', 'user:1-pixverse:x@y.z-video:3', '["user:1-pixverse:x@y.z-video:3","video","x@y.z",1796040000.0,5,null]', '2026-11-30 11:58:00', 2, 'HTTP 503');


--
-- Data for Name: watch_snapshots; Type: TABLE DATA; Schema: public; Owner: -
--

INSERT INTO public.watch_snapshots VALUES ('pixverse', '2026-11-30 12:00:00', '{"v":1,"t":1796040000.0,"j":[["user:1-pixverse:a@b.c-video:7","video","a@b.c",1796036400.0,3600,null],["user:1-pixverse:a@b.c-image:8","image","a@b.c",null,42,"v4"]],"a":[["a@b.c",2,2,0],["x@y.z",5,0,null]]}', '["user:1-pixverse:a@b.c-video:7"]', '2026-11-30 12:00:00');


--
-- Name: alert_outbox_id_seq; Type: SEQUENCE SET; Schema: public; Owner: -
--

SELECT pg_catalog.setval('public.alert_outbox_id_seq', 5, true);


--
-- Name: account_health account_health_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.account_health
    ADD CONSTRAINT account_health_pkey PRIMARY KEY (provider, account);


--
-- Name: alert_mentions alert_mentions_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.alert_mentions
    ADD CONSTRAINT alert_mentions_pkey PRIMARY KEY (kind, provider);


--
-- Name: alert_mutes alert_mutes_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.alert_mutes
    ADD CONSTRAINT alert_mutes_pkey PRIMARY KEY (provider, kind);


--
-- Name: alert_outbox alert_outbox_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.alert_outbox
    ADD CONSTRAINT alert_outbox_pkey PRIMARY KEY (id);


--
-- Name: alert_routes alert_routes_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.alert_routes
    ADD CONSTRAINT alert_routes_pkey PRIMARY KEY (kind, provider);


--
-- Name: alert_states alert_states_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.alert_states
    ADD CONSTRAINT alert_states_pkey PRIMARY KEY (provider, scope);


--
-- Name: board_messages board_messages_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.board_messages
    ADD CONSTRAINT board_messages_pkey PRIMARY KEY (message_id);


--
-- Name: job_untracks job_untracks_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.job_untracks
    ADD CONSTRAINT job_untracks_pkey PRIMARY KEY (provider, job_id);


--
-- Name: leases leases_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.leases
    ADD CONSTRAINT leases_pkey PRIMARY KEY (name);


--
-- Name: opsbot_schema opsbot_schema_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.opsbot_schema
    ADD CONSTRAINT opsbot_schema_pkey PRIMARY KEY (id);


--
-- Name: alert_outbox uq_alert_outbox_key; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.alert_outbox
    ADD CONSTRAINT uq_alert_outbox_key UNIQUE (key);


--
-- Name: board_messages uq_board_channel_provider; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.board_messages
    ADD CONSTRAINT uq_board_channel_provider UNIQUE (channel_id, provider);


--
-- Name: watch_pending watch_pending_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.watch_pending
    ADD CONSTRAINT watch_pending_pkey PRIMARY KEY (provider, job_id);


--
-- Name: watch_snapshots watch_snapshots_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.watch_snapshots
    ADD CONSTRAINT watch_snapshots_pkey PRIMARY KEY (provider);


--
-- Name: ix_alert_outbox_batch; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX ix_alert_outbox_batch ON public.alert_outbox USING btree (batch);


--
-- Name: ix_alert_outbox_claim; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX ix_alert_outbox_claim ON public.alert_outbox USING btree (claimed_by);


--
-- Name: ix_alert_outbox_due; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX ix_alert_outbox_due ON public.alert_outbox USING btree (state, next_attempt_at);


--
-- Name: ix_job_untracks_at; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX ix_job_untracks_at ON public.job_untracks USING btree (at);


--
-- PostgreSQL database dump complete
--

\unrestrict MghguxtwGVDHuol1rwlgkHbhUcQLnaO9l0gniW1s3gz7y6CcOkeqUPeOxSJjRgK

