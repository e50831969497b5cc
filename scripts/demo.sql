-- A small application database modelled on the maintenance report that inspired pghealthd:
-- customers, conversations and messages, leads and jobs, with the same index names.
CREATE EXTENSION IF NOT EXISTS pg_trgm;

CREATE TABLE "Customer" (
  id serial PRIMARY KEY, name text NOT NULL, email text, phone text, created_at timestamptz DEFAULT now());
CREATE INDEX "Customer_email_idx" ON "Customer"(email);
CREATE INDEX "Customer_phone_idx" ON "Customer"(phone);

CREATE TABLE "CustomerAddress" (
  id serial PRIMARY KEY, customer_id int REFERENCES "Customer"(id), line1 text, city text);

CREATE TABLE "Lead" (id serial PRIMARY KEY, customer_id int REFERENCES "Customer"(id), status text, score int);

CREATE TABLE "Conversation" (
  id serial PRIMARY KEY, customer_id int REFERENCES "Customer"(id), lead_id int REFERENCES "Lead"(id),
  is_open boolean DEFAULT true, started_at timestamptz DEFAULT now());
CREATE INDEX "Conversation_customer_id_started_at_idx" ON "Conversation"(customer_id, started_at);
CREATE UNIQUE INDEX "Conversation_lead_open_unique" ON "Conversation"(lead_id) WHERE is_open;

CREATE TABLE "Message" (
  id serial PRIMARY KEY, conversation_id int REFERENCES "Conversation"(id), role text, content text,
  created_at timestamptz DEFAULT now());
CREATE INDEX "Message_conversation_id_created_at_idx" ON "Message"(conversation_id, created_at);
CREATE INDEX "Message_role_idx" ON "Message"(role);
CREATE INDEX "Message_content_fts_idx" ON "Message" USING gin (to_tsvector('english', content));

CREATE TABLE "MemoryNote" (id serial PRIMARY KEY, customer_id int, note text);
CREATE TABLE "Job" (id serial PRIMARY KEY, lead_id int, state text, attempts int DEFAULT 0);
CREATE TABLE "JobItem" (id serial PRIMARY KEY, job_id int REFERENCES "Job"(id), payload text);
CREATE TABLE "JobEvent" (id bigserial PRIMARY KEY, job_id int, kind text, at timestamptz DEFAULT now());

INSERT INTO "Customer"(name, email, phone)
  SELECT 'customer ' || g, 'c' || g || '@example.com', '+1555' || lpad(g::text, 6, '0') FROM generate_series(1, 300) g;
INSERT INTO "CustomerAddress"(customer_id, line1, city) SELECT g, g || ' Main St', 'Springfield' FROM generate_series(1, 300) g;
INSERT INTO "Lead"(customer_id, status, score) SELECT g, 'new', g % 100 FROM generate_series(1, 300) g;
INSERT INTO "Conversation"(customer_id, lead_id, is_open) SELECT g, g, g % 2 = 0 FROM generate_series(1, 300) g;
INSERT INTO "Message"(conversation_id, role, content)
  SELECT 1 + g % 300, CASE WHEN g % 2 = 0 THEN 'user' ELSE 'assistant' END,
         'message ' || g || ' about order ' || (g * 7) % 1000 FROM generate_series(1, 5000) g;
INSERT INTO "Job"(lead_id, state) SELECT g, 'queued' FROM generate_series(1, 200) g;
INSERT INTO "JobItem"(job_id, payload) SELECT 1 + g % 200, repeat('x', 200) FROM generate_series(1, 1000) g;
