import os
import tempfile

import memograd as torch
import memograd.nn as nn
import memograd.nn.functional as F
import memograd.optim as optim
from memograd.data import DataLoader, TensorDataset

from memograd.data import load_digits

torch.manual_seed(0)

X, y = load_digits()
X = torch.tensor(X, dtype=torch.float32) / 16.0
y = torch.tensor(y, dtype=torch.long)
perm = torch.randperm(len(X))
train_idx, test_idx = perm[:1500], perm[1500:]
train_loader = DataLoader(TensorDataset(X[train_idx], y[train_idx]), batch_size=64, shuffle=True)
test_loader = DataLoader(TensorDataset(X[test_idx], y[test_idx]), batch_size=256)


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(64, 128)
        self.dropout = nn.Dropout(0.2)
        self.fc2 = nn.Linear(128, 10)

    def forward(self, x):
        x = F.relu(self.fc1(x))
        x = self.dropout(x)
        return self.fc2(x)


model = Net()
criterion = nn.CrossEntropyLoss()
optimizer = optim.Adam(model.parameters(), lr=1e-3)


def evaluate(model, loader):
    model.eval()
    correct, total, loss_sum = 0, 0, 0.0
    with torch.no_grad():
        for inputs, targets in loader:
            outputs = model(inputs)
            loss_sum += criterion(outputs, targets).item() * len(targets)
            correct += (outputs.argmax(dim=1) == targets).sum().item()
            total += targets.size(0)
    return loss_sum / total, correct / total


for epoch in range(5):
    model.train()
    running_loss = 0.0
    for inputs, targets in train_loader:
        optimizer.zero_grad()
        outputs = model(inputs)
        loss = criterion(outputs, targets)
        loss.backward()
        optimizer.step()
        running_loss += loss.item()
    test_loss, accuracy = evaluate(model, test_loader)
    print(epoch, running_loss / len(train_loader), test_loss, accuracy)

with tempfile.TemporaryDirectory() as tmp:
    path = os.path.join(tmp, "digits.pt")
    torch.save(model.state_dict(), path)
    restored = Net()
    restored.load_state_dict(torch.load(path))
    restored.eval()
    with torch.no_grad():
        same = torch.equal(restored(X[test_idx]), model(X[test_idx]))
    print("restored", same, evaluate(restored, test_loader))
