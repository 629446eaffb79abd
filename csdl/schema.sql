-- The snapshot contract (DESIGN.md). Add columns, never rename.
-- Times are local wall-clock time in Asia/Ho_Chi_Minh, stored as naive TIMESTAMP.
CREATE TABLE snapshot (
    snapshot_id VARCHAR NOT NULL, school_year VARCHAR NOT NULL, taken_at TIMESTAMP NOT NULL,
    source VARCHAR NOT NULL, created_at TIMESTAMP NOT NULL, created_by VARCHAR, note VARCHAR);
CREATE TABLE snapshot_file (name VARCHAR, kind VARCHAR, sha256 VARCHAR, "rows" INTEGER);
CREATE TABLE school (school_id VARCHAR NOT NULL, name VARCHAR, province VARCHAR);
CREATE TABLE "class" (
    school_id VARCHAR NOT NULL, class_id VARCHAR NOT NULL, class_name VARCHAR, grade INTEGER,
    homeroom_staff_id VARCHAR);
CREATE TABLE student (
    school_id VARCHAR NOT NULL, student_id VARCHAR NOT NULL, class_id VARCHAR, full_name VARCHAR,
    birth_date DATE, gender VARCHAR, ethnicity VARCHAR, disability VARCHAR, status VARCHAR,
    active BOOLEAN);
CREATE TABLE subject (subject_code VARCHAR, name_vi VARCHAR, name_en VARCHAR, kind VARCHAR);
CREATE TABLE trait (trait_code VARCHAR, "group" VARCHAR, name_vi VARCHAR, name_en VARCHAR);
CREATE TABLE expectation (
    grade INTEGER, period VARCHAR, item_type VARCHAR, item_code VARCHAR, needs_level BOOLEAN,
    needs_score BOOLEAN, optional BOOLEAN);
CREATE TABLE subject_result (
    school_id VARCHAR NOT NULL, student_id VARCHAR NOT NULL, period VARCHAR NOT NULL,
    subject_code VARCHAR NOT NULL, level VARCHAR, score INTEGER);
CREATE TABLE trait_result (
    school_id VARCHAR NOT NULL, student_id VARCHAR NOT NULL, period VARCHAR NOT NULL,
    trait_code VARCHAR NOT NULL, level VARCHAR);
CREATE TABLE year_result (
    school_id VARCHAR NOT NULL, student_id VARCHAR NOT NULL, completed BOOLEAN, promoted BOOLEAN,
    classification VARCHAR, award VARCHAR);
CREATE TABLE staff (
    school_id VARCHAR NOT NULL, staff_id VARCHAR NOT NULL, full_name VARCHAR, birth_date DATE,
    gender VARCHAR, position_group VARCHAR, job_position VARCHAR, staff_type VARCHAR,
    main_subject VARCHAR, contract_type VARCHAR, rank_code VARCHAR, qualification VARCHAR,
    major VARCHAR, standard_rating VARCHAR, sessions_per_day INTEGER, status VARCHAR);
CREATE TABLE assignment (
    school_id VARCHAR NOT NULL, staff_id VARCHAR, class_id VARCHAR NOT NULL, subject_code VARCHAR NOT NULL);
CREATE TABLE room (
    school_id VARCHAR NOT NULL, room_id VARCHAR, site VARCHAR, room_type VARCHAR,
    construction VARCHAR, area_m2 DOUBLE, condition VARCHAR);
CREATE TABLE equipment (school_id VARCHAR NOT NULL, item VARCHAR, quantity INTEGER, working INTEGER);
CREATE TABLE invalid_value (
    school_id VARCHAR, source_file VARCHAR, sheet VARCHAR, "row" INTEGER, "column" VARCHAR,
    raw_value VARCHAR, reason VARCHAR, student_id VARCHAR, period VARCHAR, item_code VARCHAR);
