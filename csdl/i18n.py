"""The one translation table: Vietnamese first, English as the switch.

Keys are dotted; `t(key, lang, **params)` formats with str.format. A missing key shows the key
itself, so a gap is visible rather than a crash.
"""
from __future__ import annotations

from datetime import date, datetime

LANGS = ("vi", "en")

# key: (Vietnamese, English)
_UI: dict[str, tuple[str, str]] = {
    "where.sheet": ("trang tính {sheet}", "sheet {sheet}"),
    "where.row": ("dòng {row}", "row {row}"),
    "where.column": ("cột {column}", "column {column}"),
    # pages and shared furniture
    "page.overview": ("Tổng quan", "Overview"),
    "page.data": ("Dữ liệu", "Data"),
    "ui.no_login_placeholder": ("Bản thử: chưa có đăng nhập, mọi người xem với quyền hiệu trưởng.",
                                "Preview: no sign-in yet, everyone sees the principal's view."),
    "ui.sign_in_required": ("Vui lòng đăng nhập bằng tài khoản có quyền xem trang này.",
                            "Please sign in with an account allowed to see this page."),
    "ui.no_snapshot": ("Chưa có dữ liệu. Vào trang Dữ liệu để nhập tệp tải từ CSDL ngành, hoặc chạy `make run` để tạo trường mẫu.",
                       "No data yet. Import files downloaded from the sector database on the Data page, or run `make run` to make the demo school."),
    "ui.no_school": ("Bản chụp này không có trường nào.", "This snapshot holds no school."),
    "ui.snapshot": ("Bản chụp dữ liệu", "Data snapshot"),
    "ui.latest": ("mới nhất", "latest"),
    "ui.school": ("Trường", "School"),
    "ui.period": ("Đợt đánh giá", "Assessment period"),
    "ui.data_as_of": ("Dữ liệu lúc {when} ({age})", "Data as of {when} ({age})"),
    "ui.age_days": ("{days} ngày trước", "{days} days ago"),
    "ui.age_hours": ("{hours} giờ trước", "{hours} hours ago"),
    "ui.age_future": ("ngày của dữ liệu mẫu, sau hôm nay", "a demo date later than today"),
    "ui.demo_data": ("Đây là trường mẫu, dữ liệu hư cấu.", "This is the demo school: fictional data."),
    "overview.completion": ("Hoàn thành {period}", "{period} complete"),
    "overview.entered_of": ("{entered} / {expected} giá trị", "{entered} / {expected} values"),
    "overview.by_grade_title": ("Tiến độ nhập {period} theo khối", "{period} entry progress by grade"),
    "overview.to_progress": ("Xem chi tiết theo lớp, môn, giáo viên", "Details by class, subject and teacher"),
    "overview.by_grade": ("Tiến độ nhập theo khối", "Entry progress by grade"),
    "overview.nothing_expected": ("Chưa có gì phải nhập cho đợt này.", "Nothing is expected for this period."),
    "page.progress": ("Tiến độ nhập liệu", "Entry progress"),
    "ui.grade": ("Khối", "Grade"),
    "ui.class": ("Lớp", "Class"),
    "ui.all_grades": ("Tất cả các khối", "All grades"),
    "ui.all_classes": ("Tất cả các lớp", "All classes"),
    "progress.completion": ("Đã nhập", "Entered"),
    "progress.classes_overdue": ("Lớp quá hạn", "Classes overdue"),
    "progress.classes_at_risk": ("Lớp có nguy cơ trễ", "Classes at risk"),
    "progress.days_to_deadline": ("Số ngày đến hạn nhập", "Days to the deadline"),
    "progress.days_to_lock": ("Số ngày đến khóa sổ", "Days to the lock"),
    "progress.tab_map": ("Theo lớp và môn", "By class and subject"),
    "progress.tab_teachers": ("Theo giáo viên", "By teacher"),
    "progress.tab_history": ("Diễn biến", "Over time"),
    "progress.tab_missing": ("Còn thiếu", "Missing entries"),
    "progress.never": ("không xong nếu giữ tốc độ này", "never at this rate"),
    "progress.table_title": ("Tiến độ nhập {period} theo lớp và môn", "{period} entry progress by class and subject"),
    "progress.teachers_title": ("Tiến độ nhập {period} theo giáo viên", "{period} entry progress by teacher"),
    "progress.no_teacher": ("(chưa phân công)", "(not assigned)"),
    "progress.reminders": ("Tải danh sách nhắc nhở giáo viên (Excel)", "Download the reminder list for teachers (Excel)"),
    "progress.reminder_summary": ("Tổng hợp", "Summary"),
    "progress.reminder_title": ("Danh sách nhắc nhở nhập liệu {period}", "{period} entry reminders"),
    "progress.reminder_teacher": ("Kính gửi {teacher}: các mục {period} còn thiếu, hạn nhập {deadline}",
                                  "To {teacher}: {period} entries still missing, deadline {deadline}"),
    "progress.history_note": ("Mỗi điểm là một bản chụp. Đường nét đứt: ngày xong dự kiến nếu giữ tốc độ nhập của 7 ngày gần nhất.",
                              "Each point is a snapshot. Dashed line: the finish expected at the last 7 days' entry rate."),
    "progress.nothing_missing": ("Không còn mục nào thiếu.", "Nothing is missing."),
    "progress.pick_row": ("Chọn một dòng của bảng để xem các mục còn thiếu của lớp và môn đó.",
                          "Pick a row of the table to see what that class and subject still miss."),
    "progress.pick_unit": ("Lớp và môn", "Class and subject"),
    "progress.missing_title": ("Các mục còn thiếu: {unit}", "Missing entries: {unit}"),
    "progress.pcnl": ("Phẩm chất, năng lực", "Qualities and competencies"),
    "missing.level": ("Mức đạt được", "Level"),
    "missing.score": ("Điểm KTĐK", "Test score"),
    "missing.level+score": ("Mức đạt được và điểm KTĐK", "Level and test score"),
    "col.class": ("Lớp", "Class"),
    "col.subject": ("Môn / nội dung", "Subject"),
    "col.teacher": ("Giáo viên phụ trách", "Teacher"),
    "col.status": ("Tình hình", "Status"),
    "col.projected_finish": ("Dự kiến xong", "Expected finish"),
    "col.units": ("Số phần phụ trách", "Units"),
    "col.units_behind": ("Phần chậm", "Units behind"),
    "col.student_id": ("Mã học sinh", "Student code"),
    "col.student": ("Họ tên", "Name"),
    "col.item": ("Môn / phẩm chất, năng lực", "Subject / trait"),
    "col.missing": ("Còn thiếu", "Missing"),
    "col.missing_count": ("Số giá trị còn thiếu", "Values missing"),
    "col.deadline": ("Hạn nhập", "Deadline"),
    "export.download": ("Tải bảng (Excel)", "Download (Excel)"),
    "export.subtitle": ("Bản chụp {snapshot}, dữ liệu lúc {when}", "Snapshot {snapshot}, data as of {when}"),
    # changes after a lock
    "page.changes": ("Thay đổi sau khóa sổ", "Changes after lock"),
    "changes.tab_after": ("Thay đổi sau khóa sổ", "Changes after the lock"),
    "changes.tab_requests": ("Yêu cầu điều chỉnh", "Change requests"),
    "changes.tab_compare": ("So sánh hai bản chụp", "Compare two snapshots"),
    "changes.none_locked": ("Chưa đợt nào khóa sổ tại thời điểm của bản chụp này.",
                            "No period was locked at this snapshot's time."),
    "changes.locked_at": ("{period} khóa sổ lúc {when}", "{period} locked {when}"),
    "changes.count": ("Giá trị thay đổi sau khóa sổ", "Values changed after the lock"),
    "changes.not_approved": ("Chưa được hiệu trưởng duyệt", "Not approved by the principal"),
    "changes.only_not_approved": ("Chỉ hiện thay đổi chưa được duyệt", "Only changes not approved"),
    "changes.after_title": ("Thay đổi sau khóa sổ", "Changes after the lock"),
    "changes.student_row": ("Học sinh (lớp)", "Student (class)"),
    "changes.student_no_request": ("Học sinh chuyển đến, chuyển đi hay đổi lớp: không cần yêu cầu điều chỉnh điểm.",
                                   "A student joined, left or moved class: no change request applies."),
    "changes.new_request": ("Ghi nhận yêu cầu điều chỉnh cho thay đổi này", "Record the change request for this change"),
    "changes.requested_by": ("Giáo viên đề nghị", "Teacher who asked"),
    "changes.reason": ("Lý do", "Reason"),
    "changes.record": ("Ghi nhận yêu cầu", "Record the request"),
    "changes.recorded": ("Đã ghi nhận yêu cầu #{request_id}; chờ hiệu trưởng duyệt.",
                         "Request #{request_id} recorded; awaiting the principal."),
    "changes.pick_to_record": ("Chọn một dòng để ghi nhận yêu cầu điều chỉnh của giáo viên.",
                               "Pick a row to record the teacher's change request."),
    "changes.no_requests": ("Chưa có yêu cầu điều chỉnh nào.", "No change request yet."),
    "changes.requests_title": ("Yêu cầu điều chỉnh sau khóa sổ", "Change requests after the lock"),
    "changes.decide_title": ("Duyệt yêu cầu", "Decide a request"),
    "changes.note": ("Ghi chú của hiệu trưởng", "Principal's note"),
    "changes.approve": ("Đồng ý", "Approve"),
    "changes.reject": ("Không đồng ý", "Reject"),
    "changes.decided": ("Đã ghi quyết định cho yêu cầu #{request_id}.", "Decision recorded for request #{request_id}."),
    "changes.only_principal": ("Chỉ hiệu trưởng duyệt yêu cầu.", "Only the principal decides requests."),
    "changes.before_snapshot": ("Bản chụp trước", "Earlier snapshot"),
    "changes.after_snapshot": ("Bản chụp sau", "Later snapshot"),
    "changes.all_periods": ("Mọi đợt", "All periods"),
    "changes.compare_title": ("Khác biệt giữa {before} và {after}", "Differences between {before} and {after}"),
    "changes.col_field": ("Nội dung", "Field"),
    "changes.col_before": ("Trước", "Before"),
    "changes.col_after": ("Sau", "After"),
    "changes.col_change": ("Loại", "Change"),
    "changes.col_decision": ("Yêu cầu điều chỉnh", "Change request"),
    "changes.col_request": ("Yêu cầu", "Request"),
    "changes.col_decided": ("Người duyệt, lúc", "Decided by, at"),
    "changes.field_level": ("Mức đạt được", "Level"),
    "changes.field_score": ("Điểm KTĐK", "Test score"),
    "changes.field_completed": ("Hoàn thành chương trình", "Completed"),
    "changes.field_promoted": ("Lên lớp", "Promoted"),
    "changes.field_classification": ("Xếp loại", "Classification"),
    "changes.field_award": ("Khen thưởng", "Award"),
    "changes.field_class_id": ("Lớp", "Class"),
    "changes.change_added": ("Nhập mới", "Added"),
    "changes.change_removed": ("Bị xóa", "Removed"),
    "changes.change_changed": ("Sửa", "Changed"),
    "changes.decision_approved": ("Đã duyệt", "Approved"),
    "changes.decision_rejected": ("Bị từ chối", "Rejected"),
    "changes.decision_pending": ("Chờ duyệt", "Pending"),
    "changes.decision_none": ("Không có yêu cầu — chưa được duyệt", "No request — not approved"),
    "changes.decision_student_left": ("Học sinh đã chuyển đi / thôi học", "The student has left"),
    "changes.bad_period": ("Đợt {period} không có.", "No period {period}."),
    "changes.bad_field": ("Nội dung {field} không thuộc {item_type}.", "Field {field} does not belong to {item_type}."),
    "changes.student_required": ("Cần mã học sinh.", "A student code is required."),
    "changes.reason_required": ("Cần ghi lý do điều chỉnh.", "A reason is required."),
    "changes.teacher_required": ("Cần ghi giáo viên đề nghị.", "The teacher who asked is required."),
    "changes.bad_decision": ("Quyết định {decision} không hợp lệ.", "Invalid decision {decision}."),
    "changes.note_required": ("Khi không đồng ý, hãy ghi lý do.", "Give a note when rejecting."),
    "changes.no_such_request": ("Không có yêu cầu #{request_id}.", "No request #{request_id}."),
    "overview.unapproved": ("{count} giá trị đã thay đổi sau khóa sổ mà chưa được hiệu trưởng duyệt.",
                            "{count} values changed after a lock without the principal's approval."),
    "chart.completed": ("Đã nhập", "Entered"),
    "chart.projection": ("Dự báo theo tốc độ 7 ngày qua", "Projection at the last 7 days' rate"),
    "chart.opens": ("Mở nhập", "Opens"),
    "chart.deadline": ("Hạn nhập", "Deadline"),
    "chart.lock": ("Khóa sổ", "Lock"),
    "status.complete": ("Đã xong", "Complete"),
    "status.on_track": ("Đúng tiến độ", "On track"),
    "status.at_risk": ("Có nguy cơ trễ", "At risk"),
    "status.overdue": ("Quá hạn", "Overdue"),
    "status.locked_incomplete": ("Đã khóa sổ, chưa đủ", "Locked, incomplete"),
    "status.no_schedule": ("Chưa có lịch", "No schedule"),
    "state.not_started": ("Chưa nhập", "Not started"),
    "state.in_progress": ("Đang nhập", "In progress"),
    "state.complete": ("Đã nhập đủ", "Complete"),
    "chart.grade_label": ("Khối {grade}", "Grade {grade}"),
    "chart.completion_pct": ("Hoàn thành (%)", "Complete (%)"),
    "col.grade": ("Khối", "Grade"),
    "col.classes": ("Số lớp", "Classes"),
    "col.students": ("Số học sinh", "Students"),
    "col.expected": ("Cần nhập", "Expected"),
    "col.entered": ("Đã nhập", "Entered"),
    "col.completion": ("Hoàn thành", "Complete"),
    "problem.col_file": ("Tệp", "File"),
    "problem.col_sheet": ("Trang tính", "Sheet"),
    "problem.col_row": ("Dòng", "Row"),
    "problem.col_column": ("Cột", "Column"),
    "problem.col_message": ("Vấn đề", "Problem"),
    "kind.unknown": ("Không nhận ra", "Not recognised"),
    "kind.results": ("Kết quả học tập (KQHT)", "Results (KQHT)"),
    "kind.students": ("Danh sách học sinh", "Student list"),
    "kind.staff": ("Danh sách cán bộ", "Staff list"),
    "kind.assignments": ("Phân công chuyên môn", "Teaching assignments"),
    "kind.facilities": ("Cơ sở vật chất", "Facilities"),
    "source.import": ("Nhập tệp", "Import"),
    "source.demo": ("Trường mẫu", "Demo"),
    "data.tab_import": ("Nhập tệp", "Import files"),
    "data.tab_snapshots": ("Các bản chụp", "Snapshots"),
    "data.tab_guide": ("Hướng dẫn và tệp mẫu", "Guide and templates"),
    "data.upload": ("Chọn các tệp tải từ CSDL ngành (.xls, .xlsx, .csv)",
                    "Choose the files downloaded from the sector database (.xls, .xlsx, .csv)"),
    "data.period_hint": ("Đợt đánh giá (khi tệp không ghi)", "Period (when the file does not say)"),
    "data.period_from_file": ("Lấy từ tệp", "From the file"),
    "data.taken_day": ("Ngày tải tệp về", "Day the files were downloaded"),
    "data.taken_time": ("Giờ tải", "Time"),
    "data.school_id": ("Mã trường", "School id"),
    "data.school_name": ("Tên trường", "School name"),
    "data.reading": ("Đang đọc tệp…", "Reading files…"),
    "data.reading_file": ("Đang đọc {name}…", "Reading {name}…"),
    "data.read_done": ("Đã đọc xong", "Files read"),
    "data.preview": ("Nhận diện được", "What was recognised"),
    "data.col_file": ("Tệp", "File"),
    "data.col_kind": ("Loại", "Kind"),
    "data.col_what": ("Nội dung", "Contents"),
    "data.col_errors": ("Lỗi", "Errors"),
    "data.col_warnings": ("Cảnh báo", "Warnings"),
    "data.refused": ("Không thể nhập: {count} lỗi. Chưa ghi gì. Sửa tệp rồi tải lên lại.",
                     "Cannot import: {count} problem(s). Nothing was written. Fix the files and upload again."),
    "data.warnings": ("{count} ô có giá trị không hợp lệ: sẽ được coi là chưa nhập và lưu lại để kiểm tra",
                      "{count} cells with invalid values: they count as not entered and are kept for review"),
    "data.ready": ("Sẵn sàng nhập cho {school}, năm học {year}, dữ liệu lúc {when}.",
                   "Ready to import for {school}, school year {year}, data as of {when}."),
    "data.do_import": ("Nhập", "Import"),
    "data.writing": ("Đang ghi bản chụp…", "Writing the snapshot…"),
    "data.imported": ("Đã nhập: bản chụp {snapshot_id}", "Imported: snapshot {snapshot_id}"),
    "data.bad_snapshot": ("Bản chụp {name} bị hỏng và được bỏ qua: {reason}",
                          "Snapshot {name} is damaged and skipped: {reason}"),
    "data.col_snapshot": ("Mã bản chụp", "Snapshot"),
    "data.col_year": ("Năm học", "School year"),
    "data.col_taken_at": ("Dữ liệu lúc", "Data as of"),
    "data.col_source": ("Nguồn", "Source"),
    "data.col_note": ("Ghi chú", "Note"),
    "data.snapshot_count": ("{count} bản chụp", "{count} snapshots"),
    "data.template_assignments": ("Tải mẫu phân công chuyên môn", "Download the teaching-assignment template"),
    "data.template_facilities": ("Tải mẫu cơ sở vật chất", "Download the facilities template"),
    "data.template_file_assignments": ("Mau_PhanCongChuyenMon.xlsx", "Template_TeachingAssignments.xlsx"),
    "data.template_file_facilities": ("Mau_CoSoVatChat.xlsx", "Template_Facilities.xlsx"),
    "data.guide": (
        """**Các tệp cần tải từ CSDL ngành (truong.csdl.moet.gov.vn)**

- **Kết quả học tập (KQHT)**: chức năng nhập/xuất kết quả đánh giá học sinh theo TT27; chọn khối và thời điểm (Giữa học kỳ 1, Cuối học kỳ 1, Giữa học kỳ 2, Cuối năm học) rồi xuất Excel. Mỗi khối và mỗi đợt là một tệp (tên tệp thường có dạng *KQHT-…-Khoi4…*).
- **Danh sách học sinh (C1-HocSinh)**: xuất danh sách hồ sơ học sinh ra Excel. Ứng dụng **không** đọc số định danh cá nhân, họ tên cha mẹ, số điện thoại, địa chỉ.
- **Danh sách cán bộ (CSDL_GiaoVien)**: xuất danh sách hồ sơ cán bộ ra Excel. Không đọc số CCCD, điện thoại, lương, bảo hiểm.
- **Phân công chuyên môn** và **Cơ sở vật chất**: dùng tệp mẫu của ứng dụng (nút bên dưới), điền rồi tải lên.

Ứng dụng tự nhận ra loại tệp từ nội dung, không cần đổi tên. Có thể nhập từng phần qua nhiều ngày: lần nhập sau giữ những gì đã có và thay phần của tệp mới. Hãy ghi đúng *ngày tải tệp*: tiến độ được tính tại thời điểm đó.""",
        """**Files to download from the sector database (truong.csdl.moet.gov.vn)**

- **Results (KQHT)**: the TT27 student-assessment import/export; pick the grade and period (mid-term 1, end of term 1, mid-term 2, end of year) and export to Excel. One file per grade and period (names usually look like *KQHT-…-Khoi4…*).
- **Student list (C1-HocSinh)**: the student records exported to Excel. The app does **not** read personal ID numbers, parents' names, phones or addresses.
- **Staff list (CSDL_GiaoVien)**: the staff records exported to Excel. ID card numbers, phones, salary and insurance are not read.
- **Teaching assignments** and **facilities**: use the app's templates (buttons below), fill them in and upload.

The app recognises each file from its contents; no renaming needed. You may import pieces over several days: a later import keeps what is there and replaces the new files' part. Give the right *download day*: progress is computed as of that time."""),
    "page.users": ("Người dùng", "Users"),
    "users.name": ("Họ tên", "Full name"),
    "users.role": ("Vai trò", "Role"),
    "users.state": ("Trạng thái", "State"),
    "users.active": ("Đang dùng", "Active"),
    "users.disabled": ("Đã khóa", "Disabled"),
    "users.demo": ("Tài khoản mẫu", "Demo account"),
    "users.add": ("Thêm tài khoản", "Add an account"),
    "users.change": ("Khóa, mở, đặt lại mật khẩu", "Disable, enable, reset password"),
    "users.disable": ("Khóa tài khoản", "Disable"),
    "users.enable": ("Mở lại tài khoản", "Enable"),
    "users.new_password": ("Mật khẩu mới", "New password"),
    "users.reset": ("Đặt lại mật khẩu", "Reset password"),
    "role.principal": ("Hiệu trưởng", "Principal"),
    "role.vice_principal": ("Phó hiệu trưởng", "Vice-principal"),
    "role.admin": ("Quản trị", "Administrator"),
    "role.viewer": ("Màn hình họp", "Meeting screen"),
    "auth.sign_in": ("Đăng nhập", "Sign in"),
    "auth.username": ("Tên đăng nhập", "Username"),
    "auth.password": ("Mật khẩu", "Password"),
    "auth.sign_in_button": ("Đăng nhập", "Sign in"),
    "auth.sign_out": ("Đăng xuất", "Sign out"),
    "auth.welcome": ("Xin chào {name}", "Welcome, {name}"),
    "auth.signed_in_as": ("Đang đăng nhập: {name} ({role})", "Signed in: {name} ({role})"),
    "auth.bad_credentials": ("Sai tên đăng nhập hoặc mật khẩu.", "Wrong username or password."),
    "auth.locked": ("Tài khoản tạm khóa do nhập sai mật khẩu nhiều lần; thử lại sau {until}.",
                    "Too many wrong passwords: this username is locked until {until}."),
    "auth.demo_accounts": ("Trường mẫu — tài khoản dùng thử:", "Demo school — trial accounts:"),
    "auth.no_users": ("Chưa có tài khoản nào. Tạo tài khoản đầu tiên trên máy chủ bằng lệnh:\n\n`.venv/bin/python -m csdl users add TEN_DANG_NHAP --role principal --name \"Họ tên\"`",
                      "No account yet. Create the first one on the server with:\n\n`.venv/bin/python -m csdl users add USERNAME --role principal --name \"Full name\"`"),
    "auth.password_too_short": ("Mật khẩu phải có ít nhất {n} ký tự.", "The password must have at least {n} characters."),
    "auth.bad_username": ("Tên đăng nhập gồm 3–32 chữ thường không dấu, số, dấu chấm, gạch nối hoặc gạch dưới.",
                          "A username has 3–32 lower-case letters, digits, dots, hyphens or underscores."),
    "auth.bad_role": ("Vai trò {role} không có; chọn một trong: {roles}.", "No role {role}; choose one of: {roles}."),
    "auth.name_required": ("Cần họ tên.", "A full name is required."),
    "auth.user_exists": ("Tên đăng nhập {username} đã có.", "Username {username} already exists."),
    "auth.no_such_user": ("Không có tài khoản {username}.", "No account {username}."),
    # lock schedule
    "page.schedule": ("Lịch khóa sổ", "Lock schedule"),
    "schedule.tab_schedule": ("Lịch", "Schedule"),
    "schedule.tab_events": ("Khóa và mở khóa", "Locks and unlocks"),
    "schedule.tab_state": ("Tình trạng khóa", "Lock status"),
    "schedule.field_school_year": ("Năm học", "School year"),
    "schedule.field_period": ("Đợt", "Period"),
    "schedule.field_grade": ("Khối", "Grade"),
    "schedule.field_class": ("Lớp", "Class"),
    "schedule.field_opens": ("Mở nhập", "Entry opens"),
    "schedule.field_deadline": ("Hạn nhập", "Entry deadline"),
    "schedule.field_lock": ("Khóa sổ", "Lock"),
    "schedule.field_action": ("Việc", "Action"),
    "schedule.field_scope": ("Phạm vi", "Scope"),
    "schedule.field_scope_value": ("Khối hoặc lớp", "Grade or class"),
    "schedule.field_at": ("Thời điểm", "When"),
    "schedule.field_day": ("Ngày", "Day"),
    "schedule.field_time": ("Giờ", "Time"),
    "schedule.field_reason": ("Lý do", "Reason"),
    "schedule.row_school": ("{period}, toàn trường", "{period}, whole school"),
    "schedule.row_grade": ("{period}, khối {grade}", "{period}, grade {grade}"),
    "schedule.whole_school": ("Toàn trường", "Whole school"),
    "schedule.grade_n": ("Khối {grade}", "Grade {grade}"),
    "schedule.class_n": ("Lớp {name}", "Class {name}"),
    "schedule.updated": ("Cập nhật", "Updated"),
    "schedule.empty": ("Chưa có lịch khóa sổ cho năm học {year}.", "No lock schedule for {year} yet."),
    "schedule.override_note": ("Dòng của một khối thay cho dòng toàn trường đối với khối đó.",
                               "A grade's row replaces the whole-school row for that grade."),
    "schedule.download": ("Tải lịch về (Excel)", "Download the schedule (Excel)"),
    "schedule.edit_title": ("Sửa lịch", "Edit the schedule"),
    "schedule.save": ("Lưu", "Save"),
    "schedule.saved": ("Đã lưu lịch: {row}.", "Schedule saved: {row}."),
    "schedule.delete": ("Xóa dòng này", "Delete this row"),
    "schedule.deleted": ("Đã xóa dòng lịch: {row}.", "Schedule row deleted: {row}."),
    "schedule.upload_title": ("Thay lịch bằng tệp Excel", "Replace the schedule from an Excel file"),
    "schedule.upload_help": (
        "Tệp có các cột Năm học, Đợt, Khối (để trống = toàn trường), Mở nhập, Hạn nhập, Khóa sổ, "
        "như tệp tải về ở trên. Mọi dòng được kiểm tra trước; chỉ cần một dòng sai là không thay "
        "gì cả. Lịch năm học {year} được thay toàn bộ.",
        "The file has the columns Năm học, Đợt, Khối (blank = whole school), Mở nhập, Hạn nhập, "
        "Khóa sổ, like the file downloaded above. Every row is checked first; one bad row and "
        "nothing is replaced. The whole {year} schedule is replaced."),
    "schedule.upload": ("Chọn tệp lịch khóa sổ (.xlsx, .xls)", "Choose a lock schedule file (.xlsx, .xls)"),
    "schedule.do_import": ("Thay lịch năm học {year}", "Replace the {year} schedule"),
    "schedule.refused": ("Không thay lịch: tệp có {count} lỗi, chưa ghi gì.",
                         "Schedule not replaced: the file has {count} problem(s); nothing was written."),
    "schedule.imported": ("Đã thay lịch năm học {year}: {count} dòng.",
                          "The {year} schedule was replaced: {count} rows."),
    "schedule.no_events": ("Chưa ghi lần khóa hay mở khóa nào trong năm học {year}.",
                           "No lock or unlock recorded in {year} yet."),
    "schedule.action_lock": ("Khóa", "Lock"),
    "schedule.action_unlock": ("Mở khóa", "Unlock"),
    "schedule.scope_school": ("Toàn trường", "Whole school"),
    "schedule.scope_grade": ("Một khối", "One grade"),
    "schedule.scope_class": ("Một lớp", "One class"),
    "schedule.recorded": ("Người ghi · lúc ghi", "Recorded by · at"),
    "schedule.record_title": ("Ghi một lần khóa hoặc mở khóa", "Record a lock or an unlock"),
    "schedule.reason_help": (
        "Bắt buộc khi mở khóa: ai báo sửa gì, hiệu trưởng đã đồng ý.",
        "Required for an unlock: who reported what to correct, with the principal's consent."),
    "schedule.record": ("Ghi lại", "Record"),
    "schedule.recorded_done": ("Đã ghi: {action} {scope}, {period}.", "Recorded: {action} {scope}, {period}."),
    "schedule.state_help": (
        "Lần khóa hoặc mở khóa ghi sau cùng có áp dụng cho lớp quyết định tình trạng; nếu chưa ghi "
        "lần nào thì theo ngày khóa sổ trong lịch.",
        "The latest recorded lock or unlock that covers the class decides; where none is "
        "recorded, the schedule's lock day does."),
    "schedule.state_when": ("Xem tình trạng lúc", "Status at"),
    "schedule.when_now": ("Bây giờ", "Now"),
    "schedule.when_snapshot": ("Lúc của bản chụp dữ liệu", "The data snapshot's time"),
    "schedule.when_chosen": ("Thời điểm khác", "Another time"),
    "schedule.state_title": ("Tình trạng khóa lúc {when}", "Lock status at {when}"),
    "schedule.no_classes": ("Chưa có danh sách lớp: hãy nhập dữ liệu trước.",
                            "No class list yet: import the data first."),
    "schedule.classes_other_year": ("Danh sách lớp lấy từ bản chụp năm học {year}.",
                                    "The class list comes from a {year} snapshot."),
    "schedule.locked_count": ("{period}: số lớp đã khóa", "{period}: classes locked"),
    "schedule.all_periods": ("Mọi đợt", "All periods"),
    "schedule.status": ("Tình trạng", "Status"),
    "schedule.status_locked": ("🔒 Đã khóa", "🔒 Locked"),
    "schedule.status_unlocked": ("🔓 Đã mở khóa", "🔓 Unlocked"),
    "schedule.status_open": ("Chưa khóa", "Not locked"),
    "schedule.since": ("Từ lúc", "Since"),
    "schedule.by": ("Người khóa / mở", "By"),
    "schedule.source": ("Căn cứ", "Based on"),
    "schedule.source_event": ("Lần khóa / mở đã ghi", "Recorded lock / unlock"),
    "schedule.source_schedule": ("Ngày khóa sổ trong lịch", "The schedule's lock day"),
    "schedule.source_none": ("–", "–"),
    "problem.schedule_bad_year": ("Năm học \"{value}\" không hợp lệ (cần dạng 2026-2027)",
                                  "Invalid school year \"{value}\" (expected like 2026-2027)"),
    "problem.schedule_other_year": ("Năm học {value} khác năm học đang chọn ({year})",
                                    "School year {value} is not the chosen year ({year})"),
    "problem.schedule_bad_period": (
        "Đợt \"{value}\" không hợp lệ (GK1, CK1, GK2, CN hoặc tên đợt như \"Giữa học kỳ 1\")",
        "Invalid period \"{value}\" (GK1, CK1, GK2, CN or a name such as \"Giữa học kỳ 1\")"),
    "problem.schedule_bad_grade": ("Khối \"{value}\" không hợp lệ (1–5, hoặc để trống cho toàn trường)",
                                   "Invalid grade \"{value}\" (1–5, or blank for the whole school)"),
    "problem.schedule_bad_date": ("Ngày \"{value}\" không hợp lệ (cần dd/mm/yyyy)",
                                  "Invalid date \"{value}\" (expected dd/mm/yyyy)"),
    "problem.schedule_date_missing": ("Thiếu ngày", "The date is missing"),
    "problem.schedule_outside_year": ("Ngày {value} nằm ngoài năm học {year} ({first} – {last})",
                                      "{value} is outside the school year {year} ({first} – {last})"),
    "problem.schedule_deadline_before_opens": ("{deadline} trước ngày mở nhập ({opens})",
                                               "{deadline} is before entry opens ({opens})"),
    "problem.schedule_lock_before_deadline": ("{lock} trước hạn nhập ({deadline})",
                                              "{lock} is before the entry deadline ({deadline})"),
    "problem.schedule_duplicate_row": ("Trùng đợt và khối với dòng {first_row}",
                                       "Same period and grade as row {first_row}"),
    "problem.schedule_columns_missing": ("Không thấy dòng tiêu đề có các cột: {columns}",
                                         "No header row with the columns: {columns}"),
    "problem.schedule_no_rows": ("Tệp không có dòng lịch nào", "The file has no schedule rows"),
    "problem.schedule_bad_action": ("Việc \"{value}\" không hợp lệ (khóa hoặc mở khóa)",
                                    "Invalid action \"{value}\" (lock or unlock)"),
    "problem.schedule_bad_scope": ("Phạm vi \"{value}\" không hợp lệ (toàn trường, khối hoặc lớp)",
                                   "Invalid scope \"{value}\" (school, grade or class)"),
    "problem.schedule_scope_value_required": ("Chọn khối hoặc lớp được khóa / mở khóa",
                                              "Choose the grade or class locked or unlocked"),
    "problem.schedule_reason_required": ("Mở khóa cần ghi lý do", "An unlock needs a reason"),
    # command line
    "cli.no_such_file": ("Không có tệp: {path}", "No such file: {path}"),
    "cli.import_refused": ("Không nhập: {count} lỗi, chưa ghi gì.",
                           "Import refused: {count} problem(s), nothing was written."),
    "cli.warning": ("Cảnh báo:", "Warning:"),
    "cli.import_done": ("Đã nhập: bản chụp {snapshot_id}", "Imported: snapshot {snapshot_id}"),
    "cli.summary": ("{classes} lớp, {students} học sinh đang học, {staff} cán bộ; {invalid} ô giá trị không hợp lệ",
                    "{classes} classes, {students} enrolled students, {staff} staff; {invalid} invalid cells"),
    "cli.summary_period": ("  {period}: {entered} giá trị đã nhập, hoàn thành {completion}",
                           "  {period}: {entered} values entered, {completion} complete"),
    "cli.demo_done": ("Đã tạo trường mẫu: {count} bản chụp trong {folder}",
                      "Demo school made: {count} snapshots in {folder}"),
    "cli.no_password_env": ("Biến môi trường {var} không có.", "Environment variable {var} is not set."),
    "cli.password_prompt": ("Mật khẩu: ", "Password: "),
    "cli.password_again": ("Nhập lại mật khẩu: ", "Password again: "),
    "cli.passwords_differ": ("Hai lần nhập mật khẩu không khớp.", "The two passwords differ."),
    "cli.user_added": ("Đã tạo tài khoản {username}.", "Account {username} created."),
    "cli.user_disabled": ("Đã khóa tài khoản {username}.", "Account {username} disabled."),
    "cli.user_enabled": ("Đã mở lại tài khoản {username}.", "Account {username} enabled."),
    "cli.password_reset": ("Đã đặt lại mật khẩu cho {username}.", "Password of {username} reset."),
    "cli.check_data": ("Thư mục dữ liệu {folder}: {count} bản chụp, mới nhất {latest}.",
                       "Data folder {folder}: {count} snapshots, latest {latest}."),
    "cli.check_demo": ("Đang dùng trường mẫu: đăng nhập bằng các tài khoản mẫu liệt kê ở trang đăng nhập.",
                       "Demo school: sign in with the demo accounts listed on the sign-in page."),
    "cli.check_no_users": (
        "Chưa có tài khoản nào. Tạo tài khoản đầu tiên (hiệu trưởng hoặc quản trị) bằng lệnh:\n"
        "  .venv/bin/python -m csdl users add TEN_DANG_NHAP --role principal --name \"Họ và tên\"",
        "No account yet. Create the first one (principal or administrator) with:\n"
        "  .venv/bin/python -m csdl users add USERNAME --role principal --name \"Full name\""),
    "cli.no_snapshot": ("Không có bản chụp nào trong {folder}.", "No snapshot in {folder}."),
    "cli.school_choice": ("Bản chụp có nhiều trường: chọn một bằng --school-id ({schools}).",
                          "The snapshot holds several schools: pick one with --school-id ({schools})."),
    "report.progress": ("Tiến độ nhập theo lớp × môn (--by class,subject) hoặc theo giáo viên (--by teacher)",
                        "Entry progress by class × subject (--by class,subject) or by teacher (--by teacher)"),
    "report.overdue": ("Những phần đã quá hạn nhập hoặc đã khóa sổ mà chưa nhập đủ",
                       "What is past its deadline, or locked, and still incomplete"),
    "report.changes_after_lock": ("Mọi giá trị thay đổi sau khi khóa sổ, kèm yêu cầu điều chỉnh và quyết định",
                                  "Every value changed after a lock, with its change request and decision"),
    "cli.bad_snapshot": ("Bỏ qua bản chụp hỏng {path}: {reason}", "Skipped unreadable snapshot {path}: {reason}"),
    # import as a whole (csdl/ingest.py)
    "problem.no_files": ("Chưa chọn tệp nào để nhập.", "No file was given to import."),
    "problem.school_year_conflict": (
        "tệp ghi năm học {file_year}, khác năm học của lần nhập này ({year}).",
        "the file states school year {file_year}, not this import's year ({year})."),
    "problem.results_twice": (
        "trùng khối {grade}, {period} với tệp {other}: chỉ nhập một tệp cho mỗi khối và đợt.",
        "same grade {grade} and period {period} as {other}: import one file per grade and period."),
    "problem.school_id_required": (
        "Chưa biết trường: hãy cho mã trường và tên trường (trên dòng lệnh: --school-id, --school-name).",
        "Unknown school: give the school id and name (on the command line: --school-id, --school-name)."),
    "problem.students_first": (
        "chưa có danh sách học sinh của trường: hãy nhập tệp danh sách học sinh (C1-HocSinh) trước hoặc cùng lúc.",
        "the school has no student list yet: import the student list (C1-HocSinh) first or together."),
    "problem.no_known_students": (
        "không học sinh nào trong {count} dòng của tệp có trong danh sách học sinh của trường: có thể nhầm trường hoặc nhầm tệp.",
        "none of the file's {count} students is in the school's student list: wrong school or wrong file?"),
}

# --- problems found while reading files (csdl/readers.py); keys are "problem.<code>" ---
_PROBLEMS: dict[str, tuple[str, str]] = {
    # structural (errors: the import is refused)
    "file_empty": ("Tệp rỗng, không có dữ liệu", "The file is empty"),
    "file_unreadable": ("Không đọc được tệp ({reason})", "The file cannot be read ({reason})"),
    "not_spreadsheet": (
        "Tệp không phải bảng tính Excel (.xls, .xlsx) hay CSV; có thể chỉ bị đổi đuôi tên",
        "The file is not an Excel (.xls, .xlsx) or CSV spreadsheet; maybe only its extension "
        "was changed"),
    "kind_unknown": (
        "Không nhận ra loại tệp: không thấy dòng tiêu đề của tệp kết quả (KQHT), danh sách học "
        "sinh, danh sách cán bộ, phân công chuyên môn hay cơ sở vật chất",
        "Unknown kind of file: no header row of a results (KQHT), student list, staff list, "
        "assignments or facilities file"),
    "column_missing": ("Thiếu cột bắt buộc \"{header}\" ở dòng tiêu đề",
                       "Required column \"{header}\" is missing from the header row"),
    "period_conflict": (
        "Tệp ghi thời điểm {stated} nhưng đang nhập cho thời điểm {hint}",
        "The file states period {stated} but is being imported for period {hint}"),
    "period_unknown": (
        "Không xác định được thời điểm đánh giá: tệp không ghi và chưa chọn khi nhập",
        "The assessment period is unknown: the file does not state it and none was chosen"),
    "duplicate_student": (
        "Mã học sinh {id} trùng với dòng {first_row} nhưng khác họ tên ({first_name} / {name})",
        "Student code {id} repeats row {first_row} with another name ({first_name} / {name})"),
    "duplicate_staff": (
        "Mã cán bộ {id} trùng với dòng {first_row} nhưng khác họ tên ({first_name} / {name})",
        "Staff code {id} repeats row {first_row} with another name ({first_name} / {name})"),
    # bad cells and rows (warnings: the rest of the file is imported)
    "duplicate_row": ("Mã {id} đã có ở dòng {first_row}: bỏ qua dòng lặp",
                      "Code {id} already on row {first_row}: repeated row skipped"),
    "column_unknown": ("Không nhận ra cột \"{header}\": bỏ qua",
                       "Unknown column \"{header}\": ignored"),
    "column_duplicate": ("Cột \"{header}\" lặp lại: chỉ dùng cột đầu tiên",
                         "Column \"{header}\" repeats: only the first one is used"),
    "student_code_missing": ("Học sinh {name} không có mã học sinh: bỏ qua kết quả",
                             "Student {name} has no student code: results skipped"),
    "student_code_generated": (
        "Học sinh {name} chưa có mã học sinh: dùng mã tạm {id}",
        "Student {name} has no student code yet: temporary code {id} used"),
    "staff_code_missing": ("Cán bộ {name} không có mã cán bộ: bỏ qua",
                           "Staff member {name} has no staff code: skipped"),
    "grade_not_stated": (
        "Tệp không ghi khối: khối lấy theo lớp của từng học sinh",
        "The file does not state its grade: each student's grade comes from the class"),
    "grade_unknown": ("Khối \"{value}\" không hợp lệ", "Invalid grade \"{value}\""),
    "level_unknown": ("Mức đạt \"{value}\" không hợp lệ: coi như chưa nhập",
                      "Unknown level \"{value}\": treated as not entered"),
    "score_not_number": ("Điểm \"{value}\" không phải số: coi như chưa nhập",
                         "Score \"{value}\" is not a number: treated as not entered"),
    "score_not_integer": ("Điểm {value} không phải số nguyên: coi như chưa nhập",
                          "Score {value} is not a whole number: treated as not entered"),
    "score_out_of_range": ("Điểm {value} ngoài khoảng 1–10: coi như chưa nhập",
                           "Score {value} is outside 1–10: treated as not entered"),
    "score_zero": ("Điểm 0: vẫn lưu, nhưng hệ thống CSDL ngành chỉ nhận điểm 1–10",
                   "Score 0: stored, but the sector database accepts only 1–10"),
    "date_invalid": ("Ngày \"{value}\" không hợp lệ (cần dd/mm/yyyy)",
                     "Invalid date \"{value}\" (expected dd/mm/yyyy)"),
    "gender_unknown": ("Giới tính \"{value}\" không hợp lệ (Nam/Nữ)",
                       "Invalid gender \"{value}\" (Nam/Nữ)"),
    "classification_unknown": (
        "Xếp loại \"{value}\" không hợp lệ (HTXS, HTT, HT, CHT)",
        "Unknown classification \"{value}\" (HTXS, HTT, HT, CHT)"),
    "flag_unknown": ("Giá trị \"{value}\" không hợp lệ (đánh dấu x hoặc để trống)",
                     "Invalid value \"{value}\" (mark x or leave blank)"),
    "number_invalid": ("Số \"{value}\" không hợp lệ", "Invalid number \"{value}\""),
    "choice_unknown": ("Giá trị \"{value}\" không hợp lệ (chọn một trong: {choices})",
                       "Invalid value \"{value}\" (choose one of: {choices})"),
    "subject_unknown": ("Không nhận ra môn học \"{value}\": bỏ qua dòng",
                        "Unknown subject \"{value}\": row skipped"),
    "class_missing": ("Thiếu mã lớp: bỏ qua dòng", "Class code missing: row skipped"),
    "homeroom_conflict": (
        "Lớp {class_id} có hai giáo viên chủ nhiệm ({first}, {second}): giữ {first}",
        "Class {class_id} has two homeroom teachers ({first}, {second}): {first} kept"),
    "room_type_missing": ("Thiếu loại phòng: bỏ qua dòng", "Room type missing: row skipped"),
    "working_exceeds_quantity": (
        "Số đang dùng được ({working}) lớn hơn số lượng ({quantity})",
        "Working count ({working}) exceeds the quantity ({quantity})"),
}

TABLE: dict[str, tuple[str, str]] = {**_UI, **{f"problem.{k}": v for k, v in _PROBLEMS.items()}}


def t(key: str, lang: str = "vi", **params: object) -> str:
    pair = TABLE.get(key)
    if pair is None:
        return key
    text = pair[1] if lang == "en" else pair[0]
    try:
        return text.format(**params)
    except (KeyError, IndexError, ValueError):
        return text


def fmt_number(value: float | int | None, lang: str = "vi", decimals: int = 0) -> str:
    """1.234 and 92,5 in Vietnamese; 1,234 and 92.5 in English."""
    if value is None:
        return "–"
    text = f"{value:,.{decimals}f}"
    if lang == "vi":
        text = text.replace(",", "\x00").replace(".", ",").replace("\x00", ".")
    return text


def fmt_percent(ratio: float | None, lang: str = "vi", decimals: int = 1) -> str:
    if ratio is None:
        return "–"
    return fmt_number(ratio * 100, lang, decimals) + "%"


def _missing(value: object) -> bool:
    return value is None or value != value  # NaN and NaT are not equal to themselves


def fmt_date(value: date | datetime | None, lang: str = "vi") -> str:
    if _missing(value):
        return "–"
    return value.strftime("%d/%m/%Y")


def fmt_datetime(value: datetime | None, lang: str = "vi") -> str:
    if _missing(value):
        return "–"
    return value.strftime("%d/%m/%Y %H:%M")
