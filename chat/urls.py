"""HTTP routes of the chat app (mounted by premrunner.urls, before models_app's)."""

from django.urls import path

from chat import views

urlpatterns = [
    path("v1/chat/completions", views.chat_completions, name="chat-completions"),
    path("api/v1/chat/completions", views.chat_completions, name="prem-chat-completions"),
    path("v1/embeddings", views.embeddings, name="embeddings"),
    path("api/v1/embeddings", views.embeddings, name="prem-embeddings"),
    path("api/v1/models/running", views.model_running, name="prem-model-running"),
    path("api/v1/models/up", views.model_up, name="prem-model-up"),
    path("api/v1/models/down", views.model_down, name="prem-model-down"),
    path("api/chat/send", views.chat_send, name="chat-send"),
    path("api/chat/stream", views.chat_stream, name="chat-stream"),
    path("api/chat/history", views.chat_history, name="chat-history"),
    path("api/chat/conversations", views.conversations, name="chat-conversations"),
    path(
        "api/chat/conversations/<str:conversation_id>",
        views.conversation_detail,
        name="chat-conversation",
    ),
]
