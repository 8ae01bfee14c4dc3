"""Page texts: the web page's labels (the browser's language picks one set, ``UI_LABELS``) and the
texts inside chat messages (the question's language picks one set, ``CHAT_TEXTS``), in English,
Chinese and Korean; English is the fallback. ``rag.web.app`` and ``rag.web.staff`` show them.
"""

from __future__ import annotations

# the chat's example questions, one per language and zone
EXAMPLES = [
    "Which semiconductor fields does the China-ROK zone want to cooperate in?",
    "What does the Norman Bethune Center for Medical Sciences focus on?",
    "中韩国际合作示范区在生物医药方面有哪些合作方向？",
    "중한 국제협력시범구는 어떤 산업 분야에서 협력하나요?",
]

UI_LABELS: dict[str, dict[str, str]] = {
    "en": {
        "rag_title": "Changchun Investment Assistant",
        "rag_intro": (
            "## Changchun Investment Assistant\n"
            "Ask about investing in the **Jingyue High-tech Zone** and the **China-ROK International "
            "Cooperation Demonstration Zone**. Answers come only from the official documents the zones "
            "have published, with numbered sources. English, 中文 and 한국어 questions are welcome."
        ),
        "rag_tab_chat": "Ask",
        "rag_tab_staff": "Staff",
        "rag_chatbot": "Conversation",
        "rag_chat_placeholder": "Ask a question, or pick an example below.",
        "rag_question": "Your question",
        "rag_question_placeholder": "e.g. Which industries does the China-ROK zone support?",
        "rag_send": "Send",
        "rag_clear": "New conversation",
        "rag_examples": "Example questions",
        "rag_comment": "Comment on your rating (optional)",
        "rag_comment_placeholder": "What was wrong or useful?",
        "rag_comment_send": "Send comment",
        "rag_staff_password": "Staff password",
        "rag_documents": "Indexed documents",
        "rag_refresh": "Show documents",
        "rag_add_documents": "Add documents",
        "rag_upload_files": "Documents to add",
        "rag_doc_title": "Title",
        "rag_doc_publisher": "Publisher",
        "rag_doc_date": "Date (YYYY-MM-DD)",
        "rag_doc_url": "Original URL",
        "rag_replace": "Replace a document of the same name",
        "rag_upload": "Upload and index",
        "rag_remove_choice": "Document to remove",
        "rag_remove": "Remove and re-index",
        "rag_reindex": "Re-index now",
    },
    "zh": {
        "rag_title": "长春投资助手",
        "rag_intro": (
            "## 长春投资助手\n"
            "咨询在**净月高新技术产业开发区**和**中韩（长春）国际合作示范区**投资的问题。"
            "回答只依据各园区发布的官方文件，并附编号来源。可用中文、English 或 한국어 提问。"
        ),
        "rag_tab_chat": "提问",
        "rag_tab_staff": "工作人员",
        "rag_chatbot": "对话",
        "rag_chat_placeholder": "请输入问题，或选择下方的示例。",
        "rag_question": "您的问题",
        "rag_question_placeholder": "例如：中韩示范区支持哪些产业？",
        "rag_send": "发送",
        "rag_clear": "新对话",
        "rag_examples": "示例问题",
        "rag_comment": "评价说明（可选）",
        "rag_comment_placeholder": "哪里有误或有帮助？",
        "rag_comment_send": "提交说明",
        "rag_staff_password": "工作人员密码",
        "rag_documents": "已索引文件",
        "rag_refresh": "显示文件",
        "rag_add_documents": "添加文件",
        "rag_upload_files": "要添加的文件",
        "rag_doc_title": "标题",
        "rag_doc_publisher": "发布机构",
        "rag_doc_date": "日期（YYYY-MM-DD）",
        "rag_doc_url": "原文链接",
        "rag_replace": "替换同名文件",
        "rag_upload": "上传并索引",
        "rag_remove_choice": "要删除的文件",
        "rag_remove": "删除并重新索引",
        "rag_reindex": "立即重新索引",
    },
    "ko": {
        "rag_title": "창춘 투자 도우미",
        "rag_intro": (
            "## 창춘 투자 도우미\n"
            "**징웨 하이테크 산업개발구**와 **중한(창춘) 국제협력시범구** 투자에 대해 질문하세요. "
            "답변은 각 구역이 발표한 공식 문서만을 근거로 하며 번호가 매겨진 출처를 함께 보여 줍니다. "
            "한국어, English, 中文 질문 모두 가능합니다."
        ),
        "rag_tab_chat": "질문",
        "rag_tab_staff": "직원",
        "rag_chatbot": "대화",
        "rag_chat_placeholder": "질문을 입력하거나 아래 예시를 선택하세요.",
        "rag_question": "질문",
        "rag_question_placeholder": "예: 중한 시범구는 어떤 산업을 지원하나요?",
        "rag_send": "보내기",
        "rag_clear": "새 대화",
        "rag_examples": "예시 질문",
        "rag_comment": "평가 의견 (선택)",
        "rag_comment_placeholder": "무엇이 틀렸거나 유용했나요?",
        "rag_comment_send": "의견 보내기",
        "rag_staff_password": "직원 비밀번호",
        "rag_documents": "색인된 문서",
        "rag_refresh": "문서 보기",
        "rag_add_documents": "문서 추가",
        "rag_upload_files": "추가할 문서",
        "rag_doc_title": "제목",
        "rag_doc_publisher": "발행 기관",
        "rag_doc_date": "날짜 (YYYY-MM-DD)",
        "rag_doc_url": "원문 URL",
        "rag_replace": "같은 이름의 문서 교체",
        "rag_upload": "업로드 및 색인",
        "rag_remove_choice": "삭제할 문서",
        "rag_remove": "삭제 후 다시 색인",
        "rag_reindex": "지금 다시 색인",
    },
}

CHAT_TEXTS: dict[str, dict] = {
    "en": {
        "searching": "Searching the documents…",
        "preparing": "Preparing the documents",
        "sources": "",
        "related": "",
        "related_note": "The closest passages found; they do not answer the question.",
        "failed": "Sorry, something went wrong while answering ({error}). Please try again.",
        "unavailable": "The assistant could not start: {error}",
        "thanks_up": "Thank you for your feedback. You can add a comment below.",
        "thanks_down": "Thank you: this answer will be reviewed. You can say what was wrong below.",
        "comment_saved": "Thank you, your comment was saved.",
        "translated_note": "Machine translated; every sentence was checked for its figures, names and terms.",
        "source_answer": "The answer as written ({lang})",
        "curated_note": "Reviewed by zone staff: this answer was checked and approved by the zone's investment office.",
        "lang_names": {"en": "English", "zh": "Chinese", "ko": "Korean"},
        # waiting for the language model (rag.web.serving.ModelLine), and refusals of a busy server
        "queued": "Waiting for the assistant: {ahead} ahead of you, about {seconds} s",
        "queued_no_estimate": "Waiting for the assistant: {ahead} ahead of you",
        "busy": "The assistant is busy right now. Please try again in a minute.",
        "one_at_a_time": "Please wait for the answer to your previous question, then ask this one again.",
        "too_many": "You have several questions waiting already. Please wait for their answers, then ask again.",
    },
    "zh": {
        "searching": "正在检索文件…",
        "preparing": "正在准备文件",
        "sources": " · 来源",
        "related": " · 相关阅读",
        "related_note": "以下是最接近的段落，但它们没有回答这个问题。",
        "failed": "抱歉，回答时出错（{error}），请重试。",
        "unavailable": "助手无法启动：{error}",
        "thanks_up": "感谢您的反馈。您可以在下方补充说明。",
        "thanks_down": "谢谢：这条回答将被复核。您可以在下方说明问题所在。",
        "comment_saved": "谢谢，您的说明已保存。",
        "translated_note": "机器翻译：每句的数字、名称和术语均已核对。",
        "source_answer": "查看原文答案（{lang}）",
        "curated_note": "已经园区工作人员审核：本回答由园区投资服务部门核对并批准。",
        "lang_names": {"en": "英文", "zh": "中文", "ko": "韩文"},
        "queued": "正在排队：前面还有 {ahead} 个问题，约 {seconds} 秒",
        "queued_no_estimate": "正在排队：前面还有 {ahead} 个问题",
        "busy": "助手现在很忙，请一分钟后再试。",
        "one_at_a_time": "请等上一个问题回答完毕后，再提这个问题。",
        "too_many": "您已有多个问题在等待回答。请等它们回答完毕后再提问。",
    },
    "ko": {
        "searching": "문서를 검색하는 중…",
        "preparing": "문서를 준비하는 중",
        "sources": " · 출처",
        "related": " · 관련 자료",
        "related_note": "가장 가까운 단락이지만 질문에 대한 답은 아닙니다.",
        "failed": "죄송합니다. 답변 중 오류가 발생했습니다 ({error}). 다시 시도해 주세요.",
        "unavailable": "도우미를 시작할 수 없습니다: {error}",
        "thanks_up": "의견 감사합니다. 아래에 설명을 덧붙일 수 있습니다.",
        "thanks_down": "감사합니다. 이 답변은 검토됩니다. 아래에 무엇이 잘못되었는지 적어 주세요.",
        "comment_saved": "감사합니다. 의견이 저장되었습니다.",
        "translated_note": "기계 번역: 문장마다 숫자, 이름, 용어를 검증했습니다.",
        "source_answer": "원문 답변 보기 ({lang})",
        "curated_note": "구역 직원 검토 완료: 이 답변은 구역 투자 담당 부서가 확인하고 승인했습니다.",
        "lang_names": {"en": "영어", "zh": "중국어", "ko": "한국어"},
        "queued": "대기 중: 앞에 {ahead}개의 질문, 약 {seconds}초",
        "queued_no_estimate": "대기 중: 앞에 {ahead}개의 질문",
        "busy": "도우미가 지금 바쁩니다. 1분 후에 다시 시도해 주세요.",
        "one_at_a_time": "이전 질문의 답변을 기다린 후 이 질문을 다시 해 주세요.",
        "too_many": "이미 여러 질문이 답변을 기다리고 있습니다. 답변을 받은 후 다시 질문해 주세요.",
    },
}


def chat_texts(code: str) -> dict:
    """The texts inside chat messages for the question's language ``code`` (English if none)."""
    return CHAT_TEXTS.get(code, CHAT_TEXTS["en"])
